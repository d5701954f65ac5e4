/**
 * The file halves of each operation, as small synchronous steps. The flows
 * run them as file tasks between writer commands: in a pool thread (queued
 * driver) or inline (in-process driver). None of them touches the database.
 */
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCodes, ForkpointError, fromFsError } from '../errors.js';
import { faultPoint } from '../faults.js';
import type { HomeLayout } from '../layout.js';
import { FlushGroup, fsyncFolder } from '../qcow2/durable.js';
import { MAX_CHAIN_DEPTH, SECTOR_SIZE } from '../qcow2/constants.js';
import { hasQcow2Magic } from '../qcow2/header.js';
import { openImageForRead, readAt } from '../qcow2/read-header.js';
import { readBackingChain } from '../qcow2/chain.js';
import { fsyncFile } from '../qcow2/durable.js';
import { flatten } from '../qcow2/flatten.js';
import { forkQcow2 } from '../qcow2/fork.js';
import { readHeader } from '../qcow2/read-header.js';
import { writeCowChild } from '../qcow2/write-cow-child.js';
import { writeCowChildren, writeCowChildrenFlushed } from '../qcow2/write-cow-children.js';
import { isPlannedChild } from '../qcow2/planned-child.js';
import { flushFilesystemOf } from '../qcow2/filesystem-flusher.js';
import { dirtyPageBytes } from '../qcow2/sync-filesystem.js';
import { planChildOfBase } from '../qcow2/plan-child-of-base.js';
import type { BeginForkResult, DiskInfo } from '../db/types.js';
import { childrenFlushSetting } from '../runtime/children-flush.js';
import { homeModes } from '../runtime/home-mode.js';
import { assertBoxDiskSafe } from './box-disk-guard.js';
import { copySparse, openedPath } from './raw-files.js';
import { isBaseFile } from './paths.js';

export interface StepOptions {
  fsync?: boolean;
}

/** Base file mode: immutable on disk too (invariant 6): 0400, or 0440 with an operator group (runtime/home-mode.ts). */
export const BASE_MODE = homeModes().base;
/** Box disks: 0600, or 0640 with an operator group; their folders 0700 (0750). Nothing in a home is readable by other users (invariant 7). */
export const DISK_MODE = homeModes().file;
const DIR_MODE = homeModes().dir;

/** What the writer records about a finished base file. */
export function diskInfoOf(path: string): DiskInfo {
  const { header } = readHeader(path);
  return { basePath: path, containerDiskBytes: header.size, sizeBytes: statSync(path).blocks * 512 };
}

/**
 * How a fork of this disk must be made: 'move' (rename + child) unless the
 * child would read a chain deeper than MAX_CHAIN_DEPTH, then 'flatten'
 * (DESIGN.md: the depth cap is enforced when a fork would exceed it).
 * A disk no fork may take (box-disk-guard.ts) is refused here already,
 * before the fork is journalled and before its chain is read.
 */
export function forkModeFor(layout: HomeLayout, diskPath: string): 'move' | 'flatten' {
  assertBoxDiskSafe(layout, diskPath);
  if (!existsSync(diskPath)) return 'move'; // beginFork/forkQcow2 report the real problem
  return readBackingChain(diskPath).length + 1 > MAX_CHAIN_DEPTH ? 'flatten' : 'move';
}

/** The ext4 superblock starts at byte 1024; its magic (0xEF53, little-endian) is 56 bytes in. */
const EXT4_SUPERBLOCK = 1024;
const EXT4_MAGIC_OFFSET = EXT4_SUPERBLOCK + 0x38;
const EXT4_MAGIC = 0xef53;
const EXT4_INCOMPAT_64BIT = 0x80;

/** The bytes the filesystem says it spans (blocks × block size, from its superblock), or a problem with them. */
function ext4Span(fd: number, source: string): number | string {
  const u32 = (offset: number) => readAt(fd, source, EXT4_SUPERBLOCK + offset, 4).readUInt32LE(0);
  const logBlockSize = u32(0x18);
  if (logBlockSize > 6) return `its superblock's block size (1024 << ${logBlockSize}) is not one ext4 has`; // 1 KiB to 64 KiB
  const high = u32(0x60) & EXT4_INCOMPAT_64BIT ? u32(0x150) : 0;
  return (high * 2 ** 32 + u32(0x04)) * (1024 << logBlockSize);
}

/**
 * What may enter the rootfs cache: a regular, non-empty file, a whole number
 * of 512-byte sectors, with an ext2/3/4 superblock whose filesystem fits in the
 * file (blocks × block size). Anything else (a qcow2
 * image, a device, /etc/shadow) is refused before a byte is copied: a rootfs
 * is shown to untrusted guests.
 */
export function assertRawRootfsImage(source: string): number {
  const { fd, fileSize } = openImageForRead(source); // regular files only, never blocks on a FIFO
  try {
    return assertRawRootfsOpen(fd, fileSize, source);
  } finally {
    closeSync(fd);
  }
}

/** A filesystem longer than its file is cut off: a guest would read past its end (qemu: zeros; the kernel: I/O errors). */
function spanProblem(span: number | string, fileSize: number): string | null {
  if (typeof span === 'string') return span;
  return span > fileSize ? `truncated: its superblock says the filesystem spans ${span} bytes, the file has ${fileSize}` : null;
}

/** The same check on a file already open (so what is checked is what is then copied). */
function assertRawRootfsOpen(fd: number, fileSize: number, source: string): number {
  {
    const problem =
      fileSize === 0 || fileSize % SECTOR_SIZE !== 0
        ? `size ${fileSize} is not a positive multiple of ${SECTOR_SIZE} bytes`
        : hasQcow2Magic(readAt(fd, source, 0, 4))
          ? 'it is a qcow2 image, not a raw filesystem image'
          : readAt(fd, source, EXT4_MAGIC_OFFSET, 2).readUInt16LE(0) !== EXT4_MAGIC
            ? 'no ext2/3/4 superblock (magic 0xEF53 at byte 1080)'
            : spanProblem(ext4Span(fd, source), fileSize);
    if (problem) {
      throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `${source}: not a raw ext4 image: ${problem}`, { path: source, field: 'image' });
    }
    return fileSize;
  }
}

/**
 * Copy a raw rootfs image into bases/, read-only, never over an existing file. The source is
 * opened once: checked (a regular file; `opened` sees where it really is, for the import
 * folders), then copied from that same open file, so a name swapped meanwhile (for a device,
 * say) changes nothing.
 */
export function importRawStep(source: string, dest: string, o: StepOptions & { opened?: (realPath: string, fd: number) => void } = {}): DiskInfo {
  const { fd, fileSize } = openImageForRead(source);
  try {
    o.opened?.(openedPath(fd, source), fd);
    assertRawRootfsOpen(fd, fileSize, source);
    copySparse(fd, dest, BASE_MODE);
  } catch (err) {
    throw fromFsError(err, dest, 'cannot import rootfs into');
  } finally {
    closeSync(fd);
  }
  chmodSync(dest, BASE_MODE); // the umask may have narrowed the group bits
  if (o.fsync ?? true) {
    fsyncFile(dest);
    fsyncFolder(dirname(dest));
  }
  const st = statSync(dest);
  return { basePath: dest, containerDiskBytes: st.size, sizeBytes: st.blocks * 512 };
}

/**
 * Move the source disk into bases/ and leave a COW child in its place (forkQcow2 undoes itself on
 * failure). The base's parent comes from the chain the fork already walked: the first backing
 * file in bases/ (what findParentBase would find by reading the moved file's chain again).
 */
export function forkMoveStep(layout: HomeLayout, begun: BeginForkResult, o: StepOptions = {}): DiskInfo & { parentPath: string | null } {
  const r = forkQcow2(begun.sourceDiskPath, begun.basePath, { fsync: o.fsync ?? true, baseMode: BASE_MODE, childMode: DISK_MODE });
  const parentPath = r.backingChain.find((p) => dirname(p) === layout.basesDir) ?? null;
  return { basePath: begun.basePath, containerDiskBytes: r.containerDiskBytes, sizeBytes: r.sizeBytes, parentPath };
}

/**
 * The depth cap's fork: write a standalone copy of the source into bases/,
 * then swap the source's disk for a child of it (child written beside the
 * disk, then renamed over it: the swap is atomic, so the box reads either its
 * old chain or the new base, never nothing). The old chain is left to GC.
 */
export function forkFlattenStep(begun: BeginForkResult, o: StepOptions = {}): DiskInfo {
  const fsync = o.fsync ?? true;
  flatten(begun.sourceDiskPath, begun.basePath, { fsync });
  chmodSync(begun.basePath, BASE_MODE);
  faultPoint('flatten:after-base');
  const staged = `${begun.sourceDiskPath}.${begun.baseId}.new`;
  writeCowChild(begun.basePath, staged, { fsync, mode: DISK_MODE });
  faultPoint('flatten:after-child');
  try {
    renameSync(staged, begun.sourceDiskPath);
  } catch (err) {
    throw fromFsError(err, begun.sourceDiskPath, 'cannot swap in the flattened child');
  }
  if (fsync) fsyncFolder(dirname(begun.sourceDiskPath));
  return diskInfoOf(begun.basePath);
}

/**
 * COW children of one base for every clone target (all or nothing). Targets are box disks
 * (boxes/<id>/disks/<file>). With fsync they are made durable as a group: no fsync per child,
 * then every file and each folder they need (disks/, the box folder, boxes/: each a new entry
 * in its parent) fsynced once, all in flight together (each queued as soon as what it covers
 * exists, so flushes overlap the writing); the promise resolves only then, so the flow's commit
 * (addRefs) that makes them visible comes after.
 *
 * The flow sends only boxes whose rows are this op's and not ready yet, so a file at a target's
 * path is an earlier attempt's (the same ownership rule lets recovery remove the whole folder).
 * It is kept only when it is byte for byte the planned child (and flushed again: it may never
 * have been); anything else (empty, short, a header without its refcount block, as a power cut
 * leaves a child that was not yet flushed) is half-written: removed and written again.
 */
export async function cloneChildrenStep(basePath: string, targetDisks: readonly string[], o: StepOptions = {}): Promise<void> {
  const plan = planChildOfBase(basePath);
  const fsync = o.fsync ?? true;
  // Each flush is queued as soon as what it covers exists, so it runs while the next boxes are made:
  // a kept child and its folders now; a box folder once its disks/ is made; boxes/ after the last box.
  const group = fsync ? new FlushGroup() : null;
  const todo: string[] = [];
  for (const disk of targetDisks) {
    // A box folder made just now holds nothing of an earlier attempt: nothing to judge (the usual case).
    if (!madeFolder(dirname(dirname(disk)))) {
      if (isPlannedChild(disk, plan)) {
        for (const p of [disk, dirname(disk), dirname(dirname(disk))]) group?.add(p);
        continue;
      }
      // Only a regular file is ours to replace; a folder or symlink there is refused by the write below.
      if (isRegularFile(disk)) rmSync(disk);
    }
    mkdirSync(dirname(disk), { recursive: true, mode: DIR_MODE });
    group?.add(dirname(dirname(disk)));
    todo.push(disk);
  }
  if (!group) {
    writeCowChildren(basePath, todo, { fsync: false, mode: DISK_MODE, plan });
    return;
  }
  const boxesDirs = new Set(targetDisks.map((disk) => dirname(dirname(dirname(disk)))));
  // The children and their disks/ folders join the group as each is written.
  await writeCowChildrenFlushed(basePath, todo, { mode: DISK_MODE, plan, group, alsoFlush: [...boxesDirs] });
}

/** Up to this much dirty page cache (all filesystems), a batch's children are flushed by one syncfs per group, not an fsync each. */
export const SYNCFS_MAX_DIRTY_BYTES = 32 * 2 ** 20;

/**
 * How a batch's children are made durable. 'syncfs': written with no flush, then one flush of
 * their filesystem for each group of written chunks (flushChildrenStep), while little else is
 * dirty: a syncfs also writes back other programs' data. 'fsync': each write task flushes its
 * own children and folders (cloneChildrenStep). FORKPOINT_CHILDREN_FLUSH=syncfs|fsync fixes the
 * choice for a host whose neighbours write all the time (auto, the default, decides as above);
 * measured in docs/qcow2.md.
 */
export function childrenFlushModeStep(env: NodeJS.ProcessEnv = process.env): 'syncfs' | 'fsync' {
  const fixed = childrenFlushSetting(env);
  if (fixed !== 'auto') return fixed;
  const dirty = dirtyPageBytes();
  return dirty !== null && dirty <= SYNCFS_MAX_DIRTY_BYTES ? 'syncfs' : 'fsync';
}

/**
 * Children written with no flush made durable: one syncfs of each filesystem holding their boxes/
 * folder (and so everything in it), by a helper process (filesystem-flusher.ts), so no thread of
 * ours blocks on it and the file pool keeps writing the next chunks meanwhile.
 */
export async function flushChildrenStep(disks: readonly string[]): Promise<void> {
  for (const boxes of new Set(disks.map((disk) => dirname(dirname(dirname(disk)))))) await flushFilesystemOf(boxes);
}

/** mkdir `path`: true if this call made it; false otherwise (something there, or no parent), for the careful path to sort out. */
function madeFolder(path: string): boolean {
  try {
    mkdirSync(path, { mode: DIR_MODE });
    return true;
  } catch {
    return false;
  }
}

function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false; // not there (or not ours to see): nothing to remove
  }
}

/**
 * Unlink a claimed base file. Refuses any path outside bases/ (invariant 5),
 * whatever the record says; a file already gone is fine (the step re-runs).
 */
export function unlinkBaseStep(layout: HomeLayout, path: string, o: StepOptions = {}): void {
  if (!isBaseFile(layout, path)) {
    throw new ForkpointError(ErrorCodes.CONFLICT, `refusing to delete ${path}: not a base file in ${layout.basesDir}`, { path });
  }
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromFsError(err, path, 'cannot delete base');
    return;
  }
  if (o.fsync ?? true) fsyncFolder(layout.basesDir);
}
