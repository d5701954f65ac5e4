/**
 * I/O: move a file, across filesystems if need be. rename(2) is atomic; on
 * EXDEV (source and destination on different filesystems) we copy with
 * COPYFILE_EXCL, fsync the copy, and only then unlink the source, so a crash
 * leaves at least one complete copy.
 */
import { constants, copyFileSync, lstatSync, renameSync, unlinkSync } from 'node:fs';
import { fromFsError } from '../errors.js';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { fsyncFile, removeQuietly } from './durable.js';

export type MoveKind = 'rename' | 'copy';

/** Refuse when something (even a dangling symlink) already has the name. */
export function assertAbsent(path: string, what: string): void {
  let st;
  try {
    // No exception for the usual answer: building one (a stack trace) cost more than the lstat.
    st = lstatSync(path, { throwIfNoEntry: false });
  } catch (err) {
    throw fromFsError(err, path, `cannot check ${what}`);
  }
  if (st === undefined) return;
  throw new ForkpointError(ErrorCodes.ALREADY_EXISTS, `${path}: ${what} already exists; refusing to overwrite it`, { path });
}

export function moveFile(from: string, to: string): MoveKind {
  try {
    renameSync(from, to);
    return 'rename';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw fromFsError(err, from, `cannot move to ${to}:`);
  }
  try {
    copyFileSync(from, to, constants.COPYFILE_EXCL);
    fsyncFile(to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') removeQuietly(to);
    throw fromFsError(err, to, `cannot copy ${from} to`);
  }
  try {
    unlinkSync(from);
  } catch (err) {
    // The source stays where it was, so the copy is ours alone: remove it, or it is a full
    // unrecorded duplicate in the destination folder.
    removeQuietly(to);
    throw fromFsError(err, from, 'cannot remove after copying');
  }
  return 'copy';
}
