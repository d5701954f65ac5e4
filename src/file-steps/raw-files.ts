/**
 * Raw image files, copied and compared in 1 MiB blocks. The copy keeps the
 * source's holes: a block of zeros is skipped, not written, so a sparse ext4
 * image stays sparse in bases/ (a plain copy wrote every hole out: 4.4 MB of
 * data became 64 MB). A zero block read back from a hole is the same bytes,
 * so the copy reads exactly like its source.
 */
import { closeSync, ftruncateSync, openSync, readlinkSync, readSync, rmSync } from 'node:fs';
import { fromFsError } from '../errors.js';
import { openImageForRead } from '../qcow2/read-header.js';
import { writeNonZeroPages } from '../qcow2/sparse-write.js';

const BLOCK = 1 << 20;

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
