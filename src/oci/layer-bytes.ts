/**
 * The bytes of one disk layer as a blob: a qcow2 file with its backing reference rewritten to its
 * parent layer's digest (or none), a raw file as it is. Read in chunks, never held whole.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fromFsError } from '../errors.js';
import { headerWithBacking } from '../qcow2/header-backing.js';
import { openImageForRead, readAt, readHeaderFromFd } from '../qcow2/read-header.js';
import { parentRef, type LayerFormat } from './layout.js';

const CHUNK = 4 << 20;

export interface LayerSource {
  path: string;
  format: LayerFormat;
  /** The parent layer (the next file of the chain), null for the bottom. */
  parent: { digest: string; format: LayerFormat } | null;
}

/** Call `sink` with the blob's bytes in order. */
export function streamLayer(src: LayerSource, sink: (chunk: Buffer) => void): number {
  const { fd, fileSize } = openImageForRead(src.path);
  try {
    let at = 0;
    if (src.format === 'qcow2') {
      const header = readHeaderFromFd(fd, src.path, fileSize);
      const area = readAt(fd, src.path, 0, Math.min(header.clusterSize, fileSize));
      const head = headerWithBacking(area, header, src.path, src.parent ? parentRef(src.parent.digest) : null, src.parent?.format ?? null);
      sink(head);
      at = head.length;
    }
    const buf = Buffer.alloc(CHUNK);
    while (at < fileSize) {
      const n = readSync(fd, buf, 0, Math.min(CHUNK, fileSize - at), at);
      if (n === 0) break;
      sink(buf.subarray(0, n));
      at += n;
    }
    return fileSize;
  } catch (err) {
    throw fromFsError(err, src.path, 'cannot read layer');
  } finally {
    closeSync(fd);
  }
}

/** The blob's sha256 digest and size, reading the file once. */
export function digestLayer(src: LayerSource): { digest: string; size: number } {
  const hash = createHash('sha256');
  let size = 0;
  streamLayer(src, (c) => {
    hash.update(c);
    size += c.length;
  });
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** Write the blob to `dest` (created, never over a file). */
export function writeLayer(src: LayerSource, dest: string, mode: number): void {
  const fd = openSync(dest, 'wx', mode);
  try {
    let at = 0;
    streamLayer(src, (c) => {
      let done = 0;
      while (done < c.length) done += writeSync(fd, c, done, c.length - done, at + done);
      at += c.length;
    });
  } finally {
    closeSync(fd);
  }
}
