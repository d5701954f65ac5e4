/**
 * I/O: write a buffer but leave holes where it holds zeros, at the file system's page size (a
 * block with one byte set is not written whole). A copy made with it reads exactly like its source
 * (a hole reads as zeros) and allocates about what the source does: a sparse image stays sparse,
 * and a file of holes that costs its maker nothing costs the copy nothing either.
 */
import { writeSync } from 'node:fs';

const PAGE = 4096;
const ZEROS = Buffer.alloc(PAGE);

/** Write the first `n` bytes of `buf` at `at`, one write per run of pages that are not all zeros. */
export function writeNonZeroPages(fd: number, buf: Buffer, n: number, at: number): void {
  let run = -1; // start of the current run of non-zero pages
  for (let off = 0; off <= n; off += PAGE) {
    const len = Math.min(PAGE, n - off);
    const zero = len <= 0 || buf.compare(ZEROS, 0, len, off, off + len) === 0;
    if (!zero && run < 0) run = off;
    if (zero && run >= 0) {
      writeAll(fd, buf, run, off - run, at + run);
      run = -1;
    }
  }
  if (run >= 0) writeAll(fd, buf, run, n - run, at + run);
}

function writeAll(fd: number, buf: Buffer, from: number, length: number, position: number): void {
  for (let done = 0; done < length; ) done += writeSync(fd, buf, from + done, length - done, position + done);
}
