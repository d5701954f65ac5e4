/**
 * Copy one layer blob out of an OCI layout into the home, verifying it on the way: the bytes
 * hash to the layer's digest (and size), a qcow2 layer passes the engine's header and open-table
 * checks (read-header.ts) and every L1/L2 entry's (table-check.ts), and names exactly its parent layer's digest as its backing file (never a
 * path: a layout cannot make us read a file outside it), a raw layer is not an image of another
 * format. Only then is the real parent's path written into the copy's header. Any refusal removes
 * the copy: nothing is left behind.
 */
import { chmodSync, closeSync, fsyncSync, ftruncateSync, openSync, readSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fromFsError } from '../errors.js';
import { probeImage } from '../qcow2/read-header.js';
import { setBackingPath } from '../qcow2/set-backing.js';
import { assertTableEntries } from '../qcow2/table-check.js';
import { writeNonZeroPages } from '../qcow2/sparse-write.js';
import { blobPath } from './export.js';
import { layoutError, parentRef, type LayerFormat, type LayerInfo } from './layout.js';
import { openLayoutFile } from './read-layout.js';

const CHUNK = 4 << 20;

export interface InstallOptions {
  /** The installed layer's parent in the home (its backing file), null for the bottom. */
  parent: { path: string; format: LayerFormat } | null;
  mode: number;
  fsync: boolean;
}

export function installLayer(dir: string, layer: LayerInfo, dest: string, o: InstallOptions): void {
  const src = openLayoutFile(dir, blobPath('', layer.digest).replace(/^\//, ''));
  let out: number | null = null;
  try {
    if (src.size !== layer.size) throw layoutError(`${src.path}: ${src.size} bytes, its descriptor says ${layer.size}`, 'size', { path: src.path });
    try {
      out = openSync(dest, 'wx', 0o600);
    } catch (err) {
      throw fromFsError(err, dest, 'cannot create');
    }
    const hash = createHash('sha256');
    const buf = Buffer.alloc(CHUNK);
    for (let at = 0; at < src.size; ) {
      const n = readSync(src.fd, buf, 0, Math.min(CHUNK, src.size - at), at);
      if (n === 0) throw layoutError(`${src.path}: shorter than its ${layer.size} bytes`, 'size', { path: src.path });
      hash.update(buf.subarray(0, n));
      writeNonZeroPages(out, buf, n, at); // a blob of holes stays holes: it cost its maker nothing
      at += n;
    }
    ftruncateSync(out, src.size); // a trailing hole still counts in the size
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== layer.digest) throw layoutError(`${src.path}: its sha256 is ${actual}, not ${layer.digest}`, 'digest', { path: src.path });
    if (o.fsync) fsyncSync(out);
    closeSync(out);
    out = null;
    assertLayerShape(dest, layer, src.path);
    if (o.parent) setBackingPath(dest, o.parent.path, { backingFormat: o.parent.format, fsync: o.fsync });
    chmodSync(dest, o.mode);
  } catch (err) {
    if (out !== null) closeSync(out);
    rmSync(dest, { force: true });
    throw err;
  } finally {
    closeSync(src.fd);
  }
}

function assertLayerShape(dest: string, layer: LayerInfo, blob: string): void {
  if (layer.format === 'raw') {
    if (probeImage(dest).format !== 'raw') throw layoutError(`${blob}: a raw layer that is a qcow2 image`, 'format', { path: blob });
    return;
  }
  // E_NOT_QCOW2 / E_UNSUPPORTED / … for anything qemu would not open, named by the blob (the copy goes).
  // Kept as it is, so read by qemu with no reader of ours before it: every table entry and refcount judged now.
  const header = assertTableEntries(dest, blob, 'qcow2')!;
  const want = layer.parent === null ? null : parentRef(layer.parent);
  if (header.backingFile !== want) {
    throw layoutError(`${blob}: its backing file is ${JSON.stringify(header.backingFile)}, but a layer may only name its parent layer (${want ?? 'none'})`, 'backing', { path: blob });
  }
}
