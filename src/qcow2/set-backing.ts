/**
 * I/O: re-point an image at another backing file, like `qemu-img rebase -u`
 * (the data is not touched: the caller vouches that the new backing file has
 * the same content where the image has none). Used to cap chain depth by
 * re-pointing a child at a flattened copy, never to edit a shared base:
 * read-only files (our 0444 bases) are refused.
 *
 * The header cluster is rebuilt in memory (fixed header, backing-format
 * extension, every other extension kept byte for byte, end marker, name) and
 * written with ONE pwrite followed by fsync, as QEMU does. With names under
 * ~370 bytes every changed byte is inside the first 512-byte sector, which
 * disks write atomically; longer names rely on the filesystem not tearing a
 * small write (documented, not guaranteed).
 */
import { closeSync, fstatSync, fsyncSync, openSync, statSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCodes, ForkpointError, fromFsError } from '../errors.js';
import { MAX_BACKING_FILE_NAME, MAX_CHAIN_DEPTH } from './constants.js';
import { resolveBackingPath } from './backing-path.js';
import { readChainLayers } from './chain.js';
import { headerWithBacking } from './header-backing.js';
import { readAt, readHeaderFromFd, probeImage } from './read-header.js';
import type { ImageFormat } from './types.js';

export interface SetBackingOptions {
  /** Recorded in the backing-format extension; probed from the file when absent. */
  backingFormat?: ImageFormat;
  fsync?: boolean;
  /** The new backing file as backingTarget() checked it: many images re-pointed at one file check it once. */
  target?: BackingTarget;
}

/** A new backing file, probed and its chain walked: what every image re-pointed at it is checked against. */
export interface BackingTarget {
  path: string;
  format: ImageFormat;
  /** dev:ino of every file its chain reads, itself first: an image among them would make a loop. */
  chainIds: ReadonlySet<string>;
}

export function backingTarget(path: string, format?: ImageFormat): BackingTarget {
  const target = resolve(path);
  const backing = probeImage(target, format);
  // The probe's header is the walk's first layer: not read twice.
  const chain = backing.format === 'qcow2' ? readChainLayers(target, backing).map((l) => l.path) : [target];
  if (chain.length > MAX_CHAIN_DEPTH) {
    throw new ForkpointError(ErrorCodes.CHAIN_TOO_DEEP, `${target}: as a backing file it would make a chain ${chain.length} deep (max ${MAX_CHAIN_DEPTH})`, { path: target });
  }
  const chainIds = new Set(
    chain.map((p) => {
      try {
        const st = statSync(p);
        return `${st.dev}:${st.ino}`;
      } catch (err) {
        throw fromFsError(err, p, 'cannot check the new backing chain at');
      }
    }),
  );
  return { path: target, format: backing.format, chainIds };
}

export function setBackingPath(image: string, newBacking: string, opts: SetBackingOptions = {}): { backingFile: string; backingFormat: ImageFormat } {
  const path = resolve(image);
  const nameBytes = Buffer.byteLength(newBacking);
  if (nameBytes === 0 || nameBytes > MAX_BACKING_FILE_NAME || newBacking.includes('\0')) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `${path}: new backing name must be 1..${MAX_BACKING_FILE_NAME} bytes without NUL`, { path, field: 'backing_file' });
  }
  const resolved = resolveBackingPath(path, newBacking);
  const given = opts.target;
  const target = given && given.path === resolved && (opts.backingFormat === undefined || opts.backingFormat === given.format) ? given : backingTarget(resolved, opts.backingFormat);

  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (err) {
    throw fromFsError(err, path, 'cannot open image for writing');
  }
  try {
    const st = fstatSync(fd);
    if ((st.mode & 0o222) === 0) {
      throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `${path}: image is read-only (an immutable base?); refusing to rewrite its header`, { path });
    }
    // The open file itself, not its name: the new chain must not pass through it.
    if (target.chainIds.has(`${st.dev}:${st.ino}`)) {
      throw new ForkpointError(ErrorCodes.BACKING_LOOP, `${path}: new backing file ${target.path} would make a loop (its chain reaches ${path})`, { path, backingFile: target.path });
    }
    const header = readHeaderFromFd(fd, path, st.size);
    // What the rebuild copies: the fixed header and the extensions (not the whole cluster: 64 KiB read per image).
    const area = readAt(fd, path, 0, Math.min(Math.max(header.headerLength, header.extensionsEnd), header.clusterSize, st.size));
    const out = headerWithBacking(area, header, path, newBacking, target.format);
    let done = 0;
    while (done < out.length) done += writeSync(fd, out, done, out.length - done, done);
    if (opts.fsync ?? true) fsyncSync(fd);
  } catch (err) {
    throw fromFsError(err, path, 'cannot rewrite header of');
  } finally {
    closeSync(fd);
  }
  return { backingFile: newBacking, backingFormat: target.format };
}
