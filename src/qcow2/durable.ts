/**
 * Small durability helpers. A new or renamed file is only crash-safe once the
 * folder entry naming it is on disk too, hence fsyncFolder after create/rename.
 */
import { closeSync, constants, fsync, fsyncSync, openSync, readlinkSync, realpathSync, unlinkSync } from 'node:fs';
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
    fsyncOpen(fd, path, what);
  } finally {
    closeSync(fd);
  }
}

export const fsyncFolder = (dir: string): void => fsyncPath(dir, 'folder');

/**
 * Open a folder (to fsync it later through `fd`) and learn its canonical path: the kernel's
 * name for the open folder, one readlink of /proc/self/fd/N where realpath(3) reads every
 * component. Without /proc, or for a folder already removed, realpath(3) answers.
 */
export function openFolder(dir: string): { fd: number; realPath: string } {
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (err) {
    throw fromFsError(err, dir, 'cannot open folder');
  }
  try {
    return { fd, realPath: kernelName(fd) ?? realpathSync.native(dir) };
  } catch (err) {
    closeSync(fd);
    throw fromFsError(err, dir, 'cannot resolve folder');
  }
}

function kernelName(fd: number): string | null {
  try {
    const name = readlinkSync(`/proc/self/fd/${fd}`);
    return name.startsWith('/') && !name.endsWith(' (deleted)') ? name : null;
  } catch {
    return null;
  }
}

/** fsync an open folder or file; `path` (a `what`) names it in the error. */
export function fsyncOpen(fd: number, path: string, what = 'folder'): void {
  try {
    fsyncSync(fd);
  } catch (err) {
    throw fromFsError(err, path, `cannot fsync ${what}`);
  }
}

export const fsyncFile = (path: string): void => fsyncPath(path, 'file');

/**
 * Group durability, started as the group is filled: each path is opened here
 * and its fsync queued on libuv's thread pool at once (one hop per path), so
 * the flushes run while the caller goes on creating the next files. ext4/xfs
 * fold fsyncs that arrive together into shared journal commits. A path is
 * added only once its new entries exist (a folder after the names in it were
 * made, a file after its last write): an fsync covers what was there when it began.
 * No cap on what is queued: a batch's chunk (~100 paths) is what one holds,
 * and libuv's threads (4 unless UV_THREADPOOL_SIZE says more) set the pace.
 */
export class FlushGroup {
  readonly #seen = new Set<string>();
  #inFlight = 0;
  #failed: unknown = null;
  #waiting: (() => void)[] = [];

  /** Queue the fsync of `path` (a file or folder; once: add it after the last entry in it is made); a failure is kept for done(). */
  add(path: string): void {
    if (this.#seen.has(path) || this.#failed !== null) return;
    this.#seen.add(path);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      this.#failed = fromFsError(err, path, 'cannot open to fsync');
      return;
    }
    this.#inFlight++;
    fsync(fd, (err) => {
      try {
        closeSync(fd);
      } catch {
        /* the fsync's verdict is what counts */
      }
      if (err) this.#failed ??= fromFsError(err, path, 'cannot fsync');
      if (--this.#inFlight === 0) for (const wake of this.#waiting.splice(0)) wake();
    });
  }

  /** Resolves once every added path is durable; the first failure rejects, naming its path. */
  async done(): Promise<void> {
    // Every queued fsync settles, even after a failure: a caller that then removes files knows none is still in flight.
    if (this.#inFlight > 0) await new Promise<void>((r) => this.#waiting.push(r));
    if (this.#failed !== null) throw this.#failed;
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

/** A file we were writing when something failed: close it (it may be closed already) and remove it. */
export function discardPartialFile(fd: number, path: string): void {
  try {
    closeSync(fd);
  } catch {
    /* closed already or the close failed: the unlink below still matters */
  }
  removeQuietly(path);
}
