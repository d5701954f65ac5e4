/**
 * Small durability helpers. A new or renamed file is only crash-safe once the
 * folder entry naming it is on disk too, hence fsyncFolder after create/rename.
 */
import { closeSync, fsyncSync, openSync, unlinkSync } from 'node:fs';
import { fromFsError } from '../errors.js';

export function fsyncFolder(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (err) {
    throw fromFsError(err, dir, 'cannot open folder to fsync');
  }
  try {
    fsyncSync(fd);
  } catch (err) {
    throw fromFsError(err, dir, 'cannot fsync folder');
  } finally {
    closeSync(fd);
  }
}

/** fsync a file by path (read-only open is enough on Linux; works on a 0444 base). */
export function fsyncFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw fromFsError(err, path, 'cannot open to fsync');
  }
  try {
    fsyncSync(fd);
  } catch (err) {
    throw fromFsError(err, path, 'cannot fsync');
  } finally {
    closeSync(fd);
  }
}

/** Best-effort cleanup of a file we created; the original error matters more. */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone, or nothing we can do: the caller is already failing */
  }
}
