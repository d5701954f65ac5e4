/**
 * I/O: fork a disk (the seed's fork_qcow2). The disk moves to `dest` and
 * becomes an immutable base (0400); a fresh COW child backed by it takes the
 * old path, so the box keeps its disk path and sees the same bytes.
 *
 *   validate source and its backing chain ─ refuse existing dest ─ move ─ [fork:after-move]
 *   ─ chmod 0400 ─ [fork:after-chmod] ─ fsync dest folder ─ child at source (fsynced)
 *   ─ fsync source folder ─ [fork:after-child]
 *
 * Everything is checked before the move, and a failure after it is undone
 * (child removed, disk moved back, mode restored): a failed fork changes nothing.
 * A crash (fault action 'kill') is recovery's business: the state is then
 * "dest exists, source missing" or "dest exists, source is its child".
 */
import { chmodSync, closeSync, statSync, type BigIntStats } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { ErrorCodes, ForkpointError, fromFsError } from '../errors.js';
import { faultPoint, InjectedFault } from '../faults.js';
import { fsyncFolder, fsyncOpen, openFolder, removeQuietly } from './durable.js';
import { assertAbsent, moveFile } from './move-file.js';
import { resolveBackingPath } from './backing-path.js';
import { assertChildChainReadable, type ChainLayer } from './chain.js';
import { childClusterBits, planChild } from './child-layout.js';
import { openImageForRead, readHeaderFromFd } from './read-header.js';
import { writePlannedChild } from './write-cow-child.js';
import type { ForkResult, Qcow2Header } from './types.js';

/** Read-only for its owner alone (invariant 6; a home with an operator group passes 0440). */
export const BASE_FILE_MODE = 0o400;

export interface ForkOptions {
  fsync?: boolean;
  /** The base's mode (default BASE_FILE_MODE). */
  baseMode?: number;
  /** The child's mode (default 0600). */
  childMode?: number;
}

export function forkQcow2(source: string, dest: string, opts: ForkOptions = {}): ForkResult {
  const fsync = opts.fsync ?? true;
  const src = resolve(source);
  const dst = resolve(dest);

  // 1. Everything that can be checked is checked before anything moves.
  // O_NOFOLLOW: a symlink or folder cannot be forked, and the open itself refuses it (no lstat to race).
  const { fd, fileSize, st } = openImageForRead(src, { noFollow: true });
  let header;
  try {
    header = readHeaderFromFd(fd, src, fileSize);
  } finally {
    closeSync(fd);
  }
  const image = { path: src, fileSize, header };
  // The base keeps the source's chain: one that cannot be read would be found only after the move.
  // One header read per level (the source's header and stat are not read again).
  const layers = assertChildChainReadable(image, 'fork', st);
  assertAbsent(dst, 'fork destination');
  // Opened now: its kernel name is the base's canonical folder, and the fsync after the move goes through it.
  const destFolder = openFolder(dirname(dst));
  try {
    return forkInto(src, resolve(destFolder.realPath, basename(dst)), destFolder.fd, { header, layers, st, fsync, opts });
  } finally {
    closeSync(destFolder.fd);
  }
}

interface CheckedSource {
  header: Qcow2Header;
  layers: ChainLayer[];
  st: BigIntStats;
  fsync: boolean;
  opts: ForkOptions;
}

function forkInto(src: string, basePath: string, destFolderFd: number, { header, layers, st, fsync, opts }: CheckedSource): ForkResult {
  const destDir = dirname(basePath);
  // A relative backing name is resolved from the image's own folder, which the move changes:
  // the moved base would read a different file, or none. Refuse unless both resolve alike.
  if (header.backingFile !== null && !isAbsolute(header.backingFile)) {
    const before = resolveBackingPath(src, header.backingFile);
    if (resolveBackingPath(basePath, header.backingFile) !== before) {
      throw new ForkpointError(
        ErrorCodes.QCOW2_UNSUPPORTED,
        `${src}: its backing file name ${JSON.stringify(header.backingFile)} is relative and would point elsewhere from ${destDir}; make it absolute first (forkpoint qcow2 rebase ${src} ${before})`,
        { path: src, field: 'backing_file' },
      );
    }
  }
  // The child's bytes depend only on the base's header and final path: plan now,
  // so a path that cannot fit a header fails before the move.
  const plan = planChild({ backingPath: basePath, backingFormat: 'qcow2', virtualSize: header.size, clusterBits: childClusterBits(header.clusterBits, basePath, 'qcow2') });

  // 2. Move, then build the child; undo on any failure.
  const originalMode = Number(st.mode & 0o7777n);
  const moveKind = moveFile(src, basePath);
  let childCreated = false;
  try {
    faultPoint('fork:after-move');
    chmodSync(basePath, opts.baseMode ?? BASE_FILE_MODE);
    faultPoint('fork:after-chmod');
    // One fsync makes the base's new name durable before the child appears. The
    // mode change rides in the same journal commit on ext4/xfs (not a POSIX
    // promise: recovery re-asserts the mode on bases/); a fourth fsync would cost
    // ~25% of a durable fork for that.
    if (fsync) fsyncOpen(destFolderFd, destDir);
    writePlannedChild(plan, src, fsync, opts.childMode);
    childCreated = true;
    if (fsync) fsyncFolder(dirname(src));
    faultPoint('fork:after-child');
  } catch (err) {
    if (err instanceof InjectedFault) throw err; // a test's crash: nothing after it runs, the undo included
    undoFork({ src, basePath, childCreated, moveKind, originalMode, fsync });
    throw fromFsError(err, src, 'fork failed');
  }
  // A rename keeps the file's blocks (the source's fstat saw them); a copy may not keep its holes.
  const blocks = moveKind === 'rename' ? Number(st.blocks) : statSync(basePath).blocks;
  return { basePath, childPath: src, containerDiskBytes: header.size, sizeBytes: blocks * 512, backingChain: layers.slice(1).map((l) => l.path) };
}

interface UndoState {
  src: string;
  basePath: string;
  childCreated: boolean;
  moveKind: 'rename' | 'copy';
  originalMode: number;
  fsync: boolean;
}

/** Put the disk back where it was. Failures here are reported with the original error's context. */
function undoFork(s: UndoState): void {
  if (s.childCreated) removeQuietly(s.src);
  try {
    chmodSync(s.basePath, s.originalMode);
    moveFile(s.basePath, s.src);
    if (s.fsync) {
      fsyncFolder(dirname(s.src));
      fsyncFolder(dirname(s.basePath));
    }
  } catch (undoErr) {
    throw new ForkpointError(
      ErrorCodes.IO,
      `${s.src}: fork failed and could not be undone; the disk is at ${s.basePath}: ${(undoErr as Error).message}`,
      { path: s.src, basePath: s.basePath },
      { cause: undoErr },
    );
  }
}
