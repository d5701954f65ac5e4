/**
 * I/O: qemu-img check's corruption rule for one qcow2 file kept as it is (an imported OCI
 * layer becomes a box's disk byte for byte): every cluster the image references (header,
 * tables, refcount blocks, snapshot and bitmap tables, data) must have a refcount of at least
 * its number of references, and the active tables' COPIED flags must say exactly which
 * clusters have a refcount of 1. Broken refcounts read fine but are fatal on write: qemu
 * allocates over a cluster it thinks free, or writes in place into one a snapshot shares (the
 * first guest write fails, "Marking image as corrupt"). Leaks (a refcount with no reference)
 * are harmless, as for qemu. Table entries were judged already (table-check.ts); the tables
 * only this walk visits (snapshots', entries past the disk's end) are judged here.
 */
import { BME_TABLE_OFFSET_MASK, COPIED_FLAG, IncompatibleFeature, L1_OFFSET_MASK, L2_COMPRESSED, L2_OFFSET_MASK, REFT_OFFSET_MASK } from './constants.js';
import { corrupt } from './image-errors.js';
import { bitmapDirectory, snapshotEntries, type ReadAt } from './open-tables.js';
import type { Qcow2Header } from './types.js';

/** qemu's QCOW_MAX_L1_SIZE. */
const MAX_L1_BYTES = 32 * 1024 * 1024;
const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** One reference: the cluster and what refers to it (said only when a check fails). */
interface Reference {
  cluster: number;
  what: () => string;
  /** The active tables' entries: the COPIED flag of the entry that points here. */
  copied?: boolean;
}

export function assertRefcounts(read: ReadAt, h: Qcow2Header, src: { path: string; fileSize: number }): void {
  const cs = h.clusterSize;
  const clusters = Math.ceil(src.fileSize / cs);
  const padded = (offset: number, length: number) => {
    const buf = Buffer.alloc(length); // past the end of the file reads as zeros, as in qemu
    if (offset < src.fileSize) read(offset, length).copy(buf);
    return buf;
  };
  const refTable = padded(h.refcountTableOffset, h.refcountTableClusters * cs);
  const refcountOf = refcountReader(h, refTable, padded);
  const counts = new Uint16Array(clusters);
  for (const ref of references(h, src, padded, refTable)) {
    if (counts[ref.cluster]! < 0xffff) counts[ref.cluster]!++;
    if (ref.copied !== undefined && ref.copied !== (refcountOf(ref.cluster) === 1)) {
      throw corrupt(
        src.path,
        `${ref.what()} (cluster ${ref.cluster}) has its COPIED flag ${ref.copied ? 'set' : 'clear'} but its refcount is ${refcountOf(ref.cluster)} (qemu-img check: OFLAG_COPIED)`,
        'refcount_table',
      );
    }
  }
  for (let c = 0; c < clusters; c++) {
    const count = counts[c]!;
    if (count === 0) continue;
    const refcount = refcountOf(c);
    if (refcount >= count) continue;
    // Said with what refers to it: the walk again, for this cluster only.
    const users = [...references(h, src, padded, refTable)].filter((r) => r.cluster === c).slice(0, 3).map((r) => r.what());
    throw corrupt(
      src.path,
      `cluster ${c} (host offset ${hex(c * cs)}) has refcount ${refcount} but ${count} reference${count > 1 ? 's' : ''} (${users.join('; ')}): a write would overwrite it`,
      'refcount_table',
    );
  }
}

/** The refcount of each cluster, from the refcount table and blocks (refcount_order bits each). */
function refcountReader(h: Qcow2Header, table: Buffer, padded: (offset: number, length: number) => Buffer): (cluster: number) => number {
  const cs = h.clusterSize;
  const bits = 2 ** h.refcountOrder;
  const perBlock = (cs * 8) / bits;
  const blocks = new Map<number, Buffer | null>();
  const block = (index: number): Buffer | null => {
    if (index * 8 >= table.length) return null;
    if (!blocks.has(index)) {
      const offset = table.readBigUInt64BE(index * 8) & REFT_OFFSET_MASK;
      blocks.set(index, offset === 0n ? null : padded(Number(offset), cs)); // offsets judged by references()
    }
    return blocks.get(index)!;
  };
  return (cluster) => {
    const b = block(Math.floor(cluster / perBlock));
    if (b === null) return 0;
    const i = cluster % perBlock;
    if (bits < 8) return (b[Math.floor((i * bits) / 8)]! >> ((i * bits) % 8)) & (2 ** bits - 1);
    const bytes = bits / 8;
    return bytes <= 4 ? b.readUIntBE(i * bytes, bytes) : Number(b.readBigUInt64BE(i * 8)); // 64-bit counts past 2^53 are moot
  };
}

/** Every reference the image makes, as qemu-img check counts them (qcow2_check_refcounts). */
function* references(h: Qcow2Header, src: { path: string; fileSize: number }, padded: (offset: number, length: number) => Buffer, refTable: Buffer): Generator<Reference> {
  const cs = h.clusterSize;
  /** The cluster an offset names, judged: aligned and starting inside the file. */
  const clusterAt = (offset: bigint, what: () => string, mustAlign = true): number => {
    if (mustAlign && offset % BigInt(cs) !== 0n) throw corrupt(src.path, `${what()} is at ${hex(offset)}, not aligned to the cluster size (${cs})`, 'refcount_table');
    if (offset >= BigInt(src.fileSize)) throw corrupt(src.path, `${what()} is at ${hex(offset)}, beyond the end of the file (${src.fileSize} bytes)`, 'refcount_table');
    return Math.floor(Number(offset) / cs);
  };
  function* span(offset: number, bytes: number, what: () => string): Generator<Reference> {
    const first = clusterAt(BigInt(offset), what, false);
    for (let c = first; c < Math.ceil((offset + bytes) / cs); c++) yield { cluster: c, what };
  }

  yield { cluster: 0, what: () => 'the header' };
  yield* span(h.l1TableOffset, h.l1Size * 8, () => 'the L1 table');
  yield* span(h.refcountTableOffset, h.refcountTableClusters * cs, () => 'the refcount table');
  for (let i = 0; i < refTable.length / 8; i++) {
    const offset = refTable.readBigUInt64BE(i * 8) & REFT_OFFSET_MASK;
    if (offset !== 0n) yield { cluster: clusterAt(offset, () => `refcount block ${i}`), what: () => `refcount block ${i}` };
  }
  yield* mapped(h, padded, clusterAt, { l1Offset: h.l1TableOffset, l1Size: h.l1Size, name: 'the active L1 table', active: true });
  const snapshots = snapshotEntries(padded, h, src.path);
  const last = snapshots[snapshots.length - 1];
  if (last !== undefined) yield* span(h.snapshotsOffset, last.offset + last.bytes - h.snapshotsOffset, () => 'the snapshot table');
  for (const [i, s] of snapshots.entries()) {
    const name = `the L1 table of snapshot ${i}`;
    if (s.l1Size === 0) continue;
    const l1 = clusterAt(s.l1TableOffset, () => name) * cs;
    // qemu's bound on any L1 table (QCOW_MAX_L1_SIZE), and the whole table in the file: no read past either.
    if (s.l1Size * 8 > MAX_L1_BYTES || l1 + s.l1Size * 8 > src.fileSize) {
      throw corrupt(src.path, `${name} (${s.l1Size} entries at ${hex(l1)}) runs past the end of the file or qemu's limit of ${MAX_L1_BYTES} bytes`, 'snapshots_offset');
    }
    yield* span(l1, s.l1Size * 8, () => name);
    yield* mapped(h, padded, clusterAt, { l1Offset: l1, l1Size: s.l1Size, name, active: false });
  }
  const bitmaps = bitmapDirectory(padded, h, src);
  if (bitmaps === null) return;
  yield* span(bitmaps.offset, bitmaps.size, () => 'the bitmap directory');
  for (const b of bitmaps.bitmaps) {
    const name = `bitmap ${JSON.stringify(b.name)}`;
    const at = clusterAt(b.tableOffset, () => `the table of ${name}`) * cs;
    yield* span(at, b.tableSize * 8, () => `the table of ${name}`);
    const table = padded(at, b.tableSize * 8);
    for (let i = 0; i < b.tableSize; i++) {
      const offset = table.readBigUInt64BE(i * 8) & BME_TABLE_OFFSET_MASK;
      const what = () => `cluster ${i} of ${name}`;
      if (offset !== 0n) yield { cluster: clusterAt(offset, what), what };
    }
  }
}

/** The L2 tables one L1 table points at and the data clusters they map (compressed ones by the sectors they span). */
function* mapped(
  h: Qcow2Header,
  padded: (offset: number, length: number) => Buffer,
  clusterAt: (offset: bigint, what: () => string, mustAlign?: boolean) => number,
  l1: { l1Offset: number; l1Size: number; name: string; active: boolean },
): Generator<Reference> {
  const cs = h.clusterSize;
  const entryBytes = h.incompatibleFeatures & IncompatibleFeature.EXTENDED_L2 ? 16 : 8;
  const sectorBits = BigInt(h.clusterBits - 8);
  const offsetBits = 62n - sectorBits;
  const table = padded(l1.l1Offset, l1.l1Size * 8);
  for (let i = 0; i < l1.l1Size; i++) {
    const entry = table.readBigUInt64BE(i * 8);
    const l2Offset = entry & L1_OFFSET_MASK;
    if (l2Offset === 0n) continue;
    const l2What = () => `the L2 table of entry ${i} of ${l1.name}`;
    const l2 = clusterAt(l2Offset, l2What);
    yield { cluster: l2, what: l2What, ...(l1.active ? { copied: (entry & COPIED_FLAG) !== 0n } : {}) };
    const l2Table = padded(l2 * cs, cs);
    for (let j = 0; j < cs / entryBytes; j++) {
      const e = l2Table.readBigUInt64BE(j * entryBytes);
      const what = () => `the data of guest offset ${hex((i * (cs / entryBytes) + j) * cs)} (${l1.name})`;
      if (e & L2_COMPRESSED) {
        const start = e & ((1n << offsetBits) - 1n);
        const sectors = ((e >> offsetBits) & ((1n << sectorBits) - 1n)) + 1n;
        const first = clusterAt(start, what, false);
        const last = Math.floor(Number((start & ~511n) + sectors * 512n - 1n) / cs);
        for (let c = first; c <= last; c++) yield { cluster: c, what };
        continue;
      }
      const offset = e & L2_OFFSET_MASK;
      if (offset !== 0n) yield { cluster: clusterAt(offset, what), what, ...(l1.active ? { copied: (e & COPIED_FLAG) !== 0n } : {}) };
    }
  }
}
