/**
 * Raw image files, copied and compared in 1 MiB blocks. The copy keeps the
 * source's holes: a block of zeros is skipped, not written, so a sparse ext4
 * image stays sparse in bases/ (a plain copy wrote every hole out: 4.4 MB of
 * data became 64 MB). A zero block read back from a hole is the same bytes,
 * so the copy reads exactly like its source.
 */
import { closeSync, ftruncateSync, openSync, readlinkSync, readSync, rmSync, writeSync } from 'node:fs';
import { fromFsError } from '../errors.js';
import { openImageForRead } from '../qcow2/read-header.js';

const BLOCK = 1 << 20;

/** Holes are kept at the file system's page size: a block with one byte set is not written whole. */
const PAGE = 4096;
const ZEROS = Buffer.alloc(PAGE);

/** Write the first `n` bytes of `buf` at `at`, one write per run of pages that are not all zeros. */
function writeNonZeroPages(fd: number, buf: Buffer, n: number, at: number): void {
  let run = -1; // start of the current run of non-zero pages
  for (let off = 0; off <= n; off += PAGE) {
    const len = Math.min(PAGE, n - off);
    const zero = len <= 0 || buf.compare(ZEROS, 0, len, off, off + len) === 0;
    if (!zero && run < 0) run = off;
    if (zero && run >= 0) {
      writeSync(fd, buf, run, off - run, at + run);
      run = -1;
    }
  }
  if (run >= 0) writeSync(fd, buf, run, n - run, at + run);
}

/**
 * Copy the open file `src` to `dest` (which must not exist: never written over), leaving holes
 * where the source reads zeros; returns the size. A failed copy removes the file it made.
 */
export function copySparse(src: number, dest: string, mode: number): number {
  let out: number;
  try {
    out = openSync(dest, 'wx', mode);
  } catch (err) {
    throw fromFsError(err, dest, 'cannot create');
  }
  try {
    return copyBlocks(src, out, dest);
  } finally {
    closeSync(out);
  }
}

/** Where the open file `fd` really is (Linux: its /proc/self/fd link), else the name it was opened by. */
export function openedPath(fd: number, name: string): string {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return name;
  }
}

function copyBlocks(src: number, out: number, dest: string): number {
  try {
    const buf = Buffer.allocUnsafe(BLOCK);
    let at = 0;
    for (let n = readSync(src, buf, 0, BLOCK, at); n > 0; n = readSync(src, buf, 0, BLOCK, at)) {
      writeNonZeroPages(out, buf, n, at);
      at += n;
    }
    ftruncateSync(out, at); // a trailing hole still counts in the size
    return at;
  } catch (err) {
    rmSync(dest, { force: true });
    throw err;
  }
}

/** Whether two files hold the same bytes, compared block by block; `opened` sees where `a` really is. */
export function sameBytes(a: string, b: string, opened?: (realPath: string) => void): boolean {
  const fa = openImageForRead(a).fd; // regular files only, never blocks on a FIFO
  let fb: number;
  try {
    opened?.(openedPath(fa, a));
    fb = openSync(b, 'r');
  } catch (err) {
    closeSync(fa);
    throw err;
  }
  try {
    const ba = Buffer.allocUnsafe(BLOCK);
    const bb = Buffer.allocUnsafe(BLOCK);
    for (let at = 0; ; ) {
      const na = readSync(fa, ba, 0, BLOCK, at);
      const nb = readSync(fb, bb, 0, BLOCK, at);
      if (na !== nb) return false;
      if (na === 0) return true;
      if (ba.compare(bb, 0, nb, 0, na) !== 0) return false;
      at += na;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}
