/**
 * I/O: collapse an image and its whole backing chain into one standalone
 * qcow2 file (no backing) with the same virtual size and the same guest bytes.
 * Used to cap chain depth: flatten, then re-point children at the result.
 *
 * Layout, streamed in one pass so nothing needs sizing in advance:
 *   cluster 0 header | data clusters (guest order) | L2 tables | L1 table | refcount table | refcount blocks
 * Only clusters some layer maps are read, and all-zero clusters are left
 * unallocated (they read as zeros anyway, as in qemu-img convert).
 */
import { closeSync, fchmodSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fromFsError } from '../errors.js';
import { CHILD_REFCOUNT_ORDER, COPIED_FLAG } from './constants.js';
import { encodeV3Header } from './child-layout.js';
import type { AdmitLayer } from './chain.js';
import { ChainReader } from './chain-reader.js';
import { discardPartialFile, fsyncFolder } from './durable.js';
import { l1EntriesFor, sizeRefcountStructures } from './refcount-sizing.js';
import { IMAGE_FILE_MODE } from './write-cow-child.js';

export interface FlattenOptions {
  fsync?: boolean;
  /** The new file's mode (default 0600: private to its owner). */
  mode?: number;
  /** Sees each layer of the chain as opened, before it is read (ChainReader): may refuse it. */
  admit?: AdmitLayer;
}

export interface FlattenResult {
  path: string;
  virtualSize: number;
  clusterSize: number;
  /** Guest clusters holding data in the result. */
  dataClusters: number;
  fileLength: number;
}

const WRITE_BATCH_BYTES = 4 * 1024 * 1024;

export function flatten(image: string, dest: string, opts: FlattenOptions = {}): FlattenResult {
  const fsync = opts.fsync ?? true;
  const target = resolve(dest);
  const mode = opts.mode ?? IMAGE_FILE_MODE;
  const reader = new ChainReader(resolve(image), opts.admit ? { admit: opts.admit } : {});
  try {
    let fd: number;
    try {
      fd = openSync(target, 'wx', mode);
    } catch (err) {
      throw fromFsError(err, target, 'cannot create flattened image');
    }
    try {
      if (mode & 0o077) fchmodSync(fd, mode); // group bits asked for: the umask may have taken them
      const result = writeFlattened(reader, fd, target);
      if (fsync) fsyncSync(fd);
      closeSync(fd);
      if (fsync) fsyncFolder(dirname(target));
      return result;
    } catch (err) {
      discardPartialFile(fd, target);
      throw fromFsError(err, target, 'cannot write flattened image');
    }
  } finally {
    reader.close();
  }
}

function writeAll(fd: number, buf: Buffer, offset: number): void {
  let done = 0;
  while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done, offset + done);
}

function writeFlattened(reader: ChainReader, fd: number, path: string): FlattenResult {
  const top = reader.layers[0]!;
  const cs = top.clusterSize;
  const virtualSize = reader.virtualSize;
  const l2Entries = cs / 8;
  const l1Size = l1EntriesFor(virtualSize, cs);
  const l2Tables = new Map<number, Buffer>(); // L1 index -> L2 table being filled

  // 1. Data clusters from cluster 1 on, batched into large sequential writes.
  const mapped = reader.mappedClusters(cs);
  const batch = Buffer.alloc(WRITE_BATCH_BYTES >= cs ? WRITE_BATCH_BYTES - (WRITE_BATCH_BYTES % cs) : cs);
  let batchStart = cs;
  let batchUsed = 0;
  let nextCluster = 1;
  const cluster = Buffer.alloc(cs);
  const zeroCluster = Buffer.alloc(cs);
  for (let g = 0; g < mapped.length; g++) {
    if (mapped[g] === 0) continue;
    const guestOffset = g * cs;
    const part = cluster.subarray(0, Math.min(cs, virtualSize - guestOffset));
    reader.read(guestOffset, part);
    if (part.length < cs) cluster.fill(0, part.length); // the guest disk ends mid-cluster
    if (cluster.equals(zeroCluster)) continue;
    const host = nextCluster++ * cs;
    cluster.copy(batch, batchUsed);
    batchUsed += cs;
    if (batchUsed === batch.length) {
      writeAll(fd, batch, batchStart);
      batchStart += batchUsed;
      batchUsed = 0;
    }
    const l1Index = Math.floor(g / l2Entries);
    let table = l2Tables.get(l1Index);
    if (!table) l2Tables.set(l1Index, (table = Buffer.alloc(cs)));
    // Bit 63 ("copied", refcount is exactly 1) must be set on every cluster we own.
    table.writeBigUInt64BE(BigInt(host) | COPIED_FLAG, (g % l2Entries) * 8);
  }
  if (batchUsed > 0) writeAll(fd, batch.subarray(0, batchUsed), batchStart);
  const dataClusters = nextCluster - 1;

  // 2. L2 tables, then the L1 table pointing at them.
  const l1 = Buffer.alloc(l1Size * 8);
  for (const [l1Index, table] of [...l2Tables].sort((a, b) => a[0] - b[0])) {
    const host = nextCluster++ * cs;
    writeAll(fd, table, host);
    l1.writeBigUInt64BE(BigInt(host) | COPIED_FLAG, l1Index * 8);
  }
  const l1Offset = nextCluster * cs;
  const l1Clusters = Math.ceil(l1.length / cs);
  if (l1.length > 0) writeAll(fd, l1, l1Offset);
  nextCluster += l1Clusters;

  // 3. Refcounts: every cluster so far, plus the refcount structures themselves.
  const sizing = sizeRefcountStructures(nextCluster, cs, CHILD_REFCOUNT_ORDER);
  const tableOffset = nextCluster * cs;
  const firstBlock = nextCluster + sizing.refcountTableClusters;
  const refTable = Buffer.alloc(sizing.refcountBlocks * 8);
  for (let i = 0; i < sizing.refcountBlocks; i++) refTable.writeBigUInt64BE(BigInt((firstBlock + i) * cs), i * 8);
  writeAll(fd, refTable, tableOffset);
  const refcounts = Buffer.alloc(sizing.totalClusters * 2);
  for (let i = 0; i < sizing.totalClusters; i++) refcounts.writeUInt16BE(1, i * 2);
  writeAll(fd, refcounts, firstBlock * cs);

  // 4. The header last: until it is written the file is not a valid image.
  // + 8 zero bytes: the end-of-extensions marker
  const header = Buffer.concat([
    encodeV3Header({
      clusterBits: Math.log2(cs),
      virtualSize,
      l1Size,
      l1TableOffset: l1Offset,
      refcountTableOffset: tableOffset,
      refcountTableClusters: sizing.refcountTableClusters,
    }),
    Buffer.alloc(8),
  ]);
  writeAll(fd, header, 0);
  const fileLength = sizing.totalClusters * cs;
  ftruncateSync(fd, fileLength);
  return { path, virtualSize, clusterSize: cs, dataClusters, fileLength };
}
