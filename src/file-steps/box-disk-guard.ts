/**
 * What a box disk must be before a fork may take it (DESIGN invariants 5–7).
 * A fork renames the disk into bases/, makes it read-only and writes a child
 * in its place, as the service's user (often root). On a disk that is not
 * plainly the home's own file, that becomes a write outside the home:
 *
 * - a hard link (st_nlink > 1): the other name, maybe outside the home,
 *   would become a read-only base;
 * - a symlinked boxes/, boxes/<id> or disks/ folder (or a disk that is not a
 *   regular file): the file moved into bases/ comes from outside, and the
 *   child is written outside;
 * - a backing chain that leaves the home: every backing file must be a base
 *   file of this home by name and by realpath (paths.ts isBaseFile), checked
 *   before it is opened. A box made from an image has no backing (flatten
 *   makes it standalone); rootfs overlays back on bases/<id>.ext4.
 *
 * One rule, two users: the fork's file steps refuse such a disk before
 * anything moves (forkModeFor, resumeForkStep), and `check` reports it
 * (workers/recovery/box-disks.ts).
 */
import { lstatSync, realpathSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { ErrorCodes, ForkpointError, fromFsError, type ErrorCode } from '../errors.js';
import { CONTAINER_DISK, type HomeLayout } from '../layout.js';
import { backingFiles } from './backing-walk.js';
import { isBaseFile } from './paths.js';

export type BoxDiskRule = 'outside-boxes' | 'symlinked-folder' | 'not-a-file' | 'hard-link' | 'backing-outside-home';

export interface BoxDiskTrick {
  /** Which rule the disk breaks (stable: scripts may match on it). */
  rule: BoxDiskRule;
  /** The path at fault: the disk, the symlinked folder or the backing file. */
  path: string;
  /** The box disk it is about. */
  disk: string;
  /** One sentence naming both. */
  problem: string;
  code: ErrorCode;
}

/** lstat, or null when the path is not there (a missing disk is not a trick: others report it). */
function lstatOrNull(path: string) {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fromFsError(err, path, 'cannot check');
  }
}

/**
 * The first rule `diskPath` breaks, or null when a fork may take it (or when
 * it is missing). Errors that are not tricks (an unreadable header, say)
 * are thrown as they are: the fork would fail on them anyway.
 */
export function boxDiskTrick(layout: HomeLayout, diskPath: string): BoxDiskTrick | null {
  const disk = resolve(diskPath);
  const trick = (rule: BoxDiskRule, path: string, problem: string, code: ErrorCode = ErrorCodes.FORBIDDEN): BoxDiskTrick => ({ rule, path, disk, problem, code });

  const parts = relative(layout.boxesDir, disk).split(sep);
  if (parts.length !== 3 || parts[0] === '..' || parts[0] === '' || parts[1] !== 'disks' || parts[2] !== CONTAINER_DISK) {
    return trick('outside-boxes', disk, `${disk} is not a box disk of ${layout.home} (boxes/<id>/disks/${CONTAINER_DISK})`);
  }
  for (const folder of [layout.boxesDir, join(layout.boxesDir, parts[0]!), join(layout.boxesDir, parts[0]!, 'disks')]) {
    const st = lstatOrNull(folder);
    if (st === null || !st.isDirectory()) {
      if (st?.isSymbolicLink()) {
        return trick('symlinked-folder', folder, `${folder} is a symbolic link: a fork of ${disk} would move a file from where it points into bases/ and write its child there`);
      }
      return null; // missing, or a file where a folder should be: the fork fails on it by itself
    }
  }
  const st = lstatOrNull(disk);
  if (st === null) return null;
  if (!st.isFile()) {
    return trick('not-a-file', disk, `${disk} is not a regular file (a symlink, folder or device cannot be forked)`, ErrorCodes.NOT_A_FILE);
  }
  if (st.nlink > 1) {
    return trick('hard-link', disk, `${disk} is a hard link (${st.nlink} names): a fork would move it into bases/ and make every other name of it read-only`);
  }

  const outside = (path: string, depth: number, real?: string) =>
    trick(
      'backing-outside-home',
      path,
      `${disk} reads ${path}${real && real !== path ? ` (really ${real})` : ''}${depth > 1 ? `, ${depth} levels down its backing chain,` : ''} which is not a base file of this home (${layout.basesDir})`,
    );
  for (const step of backingFiles(disk, 'qcow2')) {
    if (step.notAFile) return outside(step.stored, step.depth); // a protocol (nbd:, json:, …), never a file of ours
    // By name first: a path outside is refused before the file system is asked anything about it.
    if (!isBaseFile(layout, step.path)) return outside(step.path, step.depth);
    let real: string;
    try {
      real = realpathSync.native(step.path); // where the kernel goes (the JS realpath folds a link target as text)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null; // a broken chain: readers refuse it by themselves
      throw fromFsError(err, step.path, 'cannot check');
    }
    if (!isBaseFile(layout, real)) return outside(step.path, step.depth, real);
  }
  return null; // deeper than the cap: every reader refuses it (E_CHAIN_TOO_DEEP), nothing past it was opened
}

/** Refuse a disk no fork may take, with an error naming the path at fault (see above). */
export function assertBoxDiskSafe(layout: HomeLayout, diskPath: string): void {
  const t = boxDiskTrick(layout, diskPath);
  if (t === null) return;
  throw new ForkpointError(t.code, `refusing to fork: ${t.problem}`, { path: t.path, disk: t.disk, rule: t.rule });
}
