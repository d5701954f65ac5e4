/**
 * I/O: write a fresh copy-on-write child. The file is created with O_EXCL
 * ('wx'), so an existing path is never overwritten, and it gets only three
 * small positioned writes (header, refcount table, refcount block) plus an
 * ftruncate: the zero L1 table stays a hole.
 */
import { closeSync, fchmodSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fromFsError } from '../errors.js';
import type { ChildPlan } from './child-layout.js';
import { discardPartialFile, fsyncFolder, removeQuietly } from './durable.js';
import { planChildOfBase } from './plan-child-of-base.js';
import type { CowChildResult, WriteChildOptions } from './types.js';

/** The mode of every image we create unless the caller asks for another: private to its owner (DESIGN invariant 7). */
export const IMAGE_FILE_MODE = 0o600;

/**
 * Write `plan` to a new file at `childPath` (fsyncs the file, not the folder).
 * On any failure the partial file, which we created, is removed.
 */
export function writePlannedChild(plan: ChildPlan, childPath: string, fsync: boolean, mode = IMAGE_FILE_MODE): CowChildResult {
  let fd: number;
  try {
    fd = openSync(childPath, 'wx', mode);
  } catch (err) {
    throw fromFsError(err, childPath, 'cannot create child image');
  }
  try {
    if (mode & 0o077) fchmodSync(fd, mode); // group bits asked for: the umask may have taken them
    for (const w of plan.writes) {
      let done = 0;
      while (done < w.bytes.length) done += writeSync(fd, w.bytes, done, w.bytes.length - done, w.offset + done);
    }
    ftruncateSync(fd, plan.fileLength);
    if (fsync) fsyncSync(fd);
    closeSync(fd);
  } catch (err) {
    discardPartialFile(fd, childPath);
    throw fromFsError(err, childPath, 'cannot write child image');
  }
  return {
    path: childPath,
    backingPath: plan.spec.backingPath,
    backingFormat: plan.spec.backingFormat,
    virtualSize: plan.spec.virtualSize,
    clusterSize: plan.clusterSize,
    fileLength: plan.fileLength,
  };
}

/** Write `plan` as a new file and, with fsync, make its name durable too (the folder); undone on failure. */
export function writePlannedImage(plan: ChildPlan, path: string, fsync: boolean, mode = IMAGE_FILE_MODE): CowChildResult {
  const target = resolve(path);
  const result = writePlannedChild(plan, target, fsync, mode);
  if (fsync) {
    try {
      fsyncFolder(dirname(target));
    } catch (err) {
      removeQuietly(target);
      throw err;
    }
  }
  return result;
}

/** Create a qcow2 v3 overlay at `childPath` backed by `basePath` (qcow2 or raw). */
export function writeCowChild(basePath: string, childPath: string, opts: WriteChildOptions = {}): CowChildResult {
  return writePlannedImage(planChildOfBase(basePath, opts.backingFormat), childPath, opts.fsync ?? true, opts.mode);
}
