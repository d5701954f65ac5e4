/**
 * I/O: read the header cluster of an image file and parse it. The read is
 * bounded by the file size and by the cluster size (at most 2 MiB), so a
 * hostile header cannot make us read more than that.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import { ErrorCodes, ForkpointError, fromFsError } from '../errors.js';
import { hasQcow2Magic, headerBytesToRead, parseHeader } from './header.js';
import { unsupported } from './image-errors.js';
import { checkOpenTables } from './open-tables.js';
import { convertHint, foreignFormat } from './probe-format.js';
import type { ImageFormat, ImageHeaderInfo, Qcow2Header } from './types.js';

/** Most headers (fixed part + extensions + backing name) fit in far less than this. */
const FIRST_READ_BYTES = 4096;

/**
 * Open a regular file read-only; folders, devices, FIFOs and missing files
 * become typed errors. O_NONBLOCK: opening a FIFO would otherwise wait for a
 * writer forever (and hold a pool thread); on a regular file it changes nothing.
 * `noFollow`: a symlink is refused too (O_NOFOLLOW), by the open itself, so no
 * lstat before it can be raced. `st` is the open file's own fstat.
 */
export function openImageForRead(path: string, opts: { noFollow?: boolean } = {}): { fd: number; fileSize: number; st: BigIntStats } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (opts.noFollow ? constants.O_NOFOLLOW : 0));
  } catch (err) {
    if (opts.noFollow && (err as NodeJS.ErrnoException).code === 'ELOOP') throw notAFile(path, 'a symlink');
    throw fromFsError(err, path, 'cannot open image');
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile()) throw notAFile(path);
    return { fd, fileSize: Number(st.size), st };
  } catch (err) {
    closeSync(fd);
    throw fromFsError(err, path, 'cannot stat image');
  }
}

/** `what` it is instead, when the open already says (a symlink refused by O_NOFOLLOW). */
function notAFile(path: string, what?: string): ForkpointError {
  return new ForkpointError(ErrorCodes.NOT_A_FILE, `${path}: not a regular file${what ? ` (${what})` : ''}, cannot be an image`, { path });
}

/** pread that loops until `length` bytes or EOF; returns the filled part. */
export function readAt(fd: number, path: string, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  try {
    while (done < length) {
      const n = readSync(fd, buf, done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
  } catch (err) {
    throw fromFsError(err, path, 'cannot read');
  }
  return buf.subarray(0, done);
}

/** Read and parse the header of an already open image, and the tables qemu also reads at open. */
export function readHeaderFromFd(fd: number, path: string, fileSize: number, prefix?: Buffer): Qcow2Header {
  let buf = prefix ?? readAt(fd, path, 0, Math.min(FIRST_READ_BYTES, fileSize));
  const needed = headerBytesToRead(buf, fileSize);
  if (needed > buf.length) buf = readAt(fd, path, 0, needed);
  const header = parseHeader(buf, { path, fileSize });
  checkOpenTables((position, length) => readAt(fd, path, position, length), header, { path, fileSize });
  return header;
}

/** The header of a qcow2 image. Throws E_NOT_QCOW2 for anything else. */
export function readHeader(path: string): ImageHeaderInfo {
  const { fd, fileSize } = openImageForRead(path);
  try {
    return { path, fileSize, header: readHeaderFromFd(fd, path, fileSize) };
  } finally {
    closeSync(fd);
  }
}

export type ProbedImage =
  | { format: 'qcow2'; path: string; fileSize: number; header: Qcow2Header }
  | { format: 'raw'; path: string; fileSize: number };

/**
 * What QEMU's probing would call this file: qcow2 when it has the magic (and
 * then the header must be valid); refused when qemu would take it for another
 * format (vmdk, vdi, …, see probe-format.ts), since reading that as raw gives
 * the guest the container's bytes; raw otherwise. `expect` skips the probe the
 * way an explicit backing format does: any file used as 'raw' is raw.
 */
export function probeImage(path: string, expect?: ImageFormat): ProbedImage {
  const { fd, fileSize } = openImageForRead(path);
  try {
    return probeOpenImage(fd, path, fileSize, expect);
  } finally {
    closeSync(fd);
  }
}

/** probeImage on a file already open (and checked) as `fd`: nothing is read by name. */
export function probeOpenImage(fd: number, path: string, fileSize: number, expect?: ImageFormat): ProbedImage {
  if (expect === 'raw') return { format: 'raw', path, fileSize };
  const prefix = readAt(fd, path, 0, Math.min(FIRST_READ_BYTES, fileSize));
  if (expect === undefined) {
    const other = foreignFormat(prefix, path, fileSize);
    if (other !== null) {
      throw unsupported(path, `qemu probes this file as a ${other} image; forkpoint reads only qcow2 and raw, and reading it as raw would give the guest the ${other} container's bytes: ${convertHint(path, other)}`, 'format');
    }
    if (!hasQcow2Magic(prefix)) return { format: 'raw', path, fileSize };
  }
  return { format: 'qcow2', path, fileSize, header: readHeaderFromFd(fd, path, fileSize, prefix) };
}
