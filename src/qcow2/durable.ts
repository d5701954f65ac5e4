/**
 * Small durability helpers. A new or renamed file is only crash-safe once the
 * folder entry naming it is on disk too, hence fsyncFolder after create/rename.
 */
import { closeSync, fsyncSync, openSync, unlinkSync } from 'node:fs';
import { fromFsError } from '../errors.js';

/** open read-only, fsync, close: enough on Linux for files (even a 0444 base) and folders alike. */
function fsyncPath(path: string, what: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw fromFsError(err, path, `cannot open ${what} to fsync`);
  }
  try {
    fsyncSync(fd);
  } catch (err) {
    throw fromFsError(err, path, `cannot fsync ${what}`);
  } finally {
    closeSync(fd);
  }
}

export const fsyncFolder = (dir: string): void => fsyncPath(dir, 'folder');

export const fsyncFile = (path: string): void => fsyncPath(path, 'file');

/** Best-effort cleanup of a file we created; the original error matters more. */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone, or nothing we can do: the caller is already failing */
  }
}

/** A file we were writing when something failed: close it (it may be closed already) and remove it. */
export function discardPartialFile(fd: number, path: string): void {
  try {
    closeSync(fd);
  } catch {
    /* closed already or the close failed: the unlink below still matters */
  }
  removeQuietly(path);
}
