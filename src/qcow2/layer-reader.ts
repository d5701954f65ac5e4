/**
 * I/O: read guest data of ONE image (no backing): for a guest range, say
 * where its bytes are: "data at host offset X", "zeros", or "not here, ask
 * the backing file". qcow2 lookups go L1 → L2 → data cluster; extended L2
 * entries add a 32-subcluster allocation/zero bitmap. Every L1 and L2 entry a
 * read goes through is checked first (table-entries.ts), so a bad one is an
 * error naming it, not zeros or another cluster's bytes. Compressed clusters
 * are refused: we never need them for our own images, and decoding zlib/zstd
 * clusters is a job for qemu-img convert.
 */
import { closeSync } from 'node:fs';
import { IncompatibleFeature, L1_OFFSET_MASK, L2_ZERO_FLAG, SUBCLUSTERS_PER_CLUSTER } from './constants.js';
import type { TableEntry } from './image-errors.js';
import { bitmapDirectory, snapshotEntries } from './open-tables.js';
import { openImageForRead, readAt, type ProbedImage } from './read-header.js';
import { roundUpToSector } from './chain.js';
import { l2HostCluster, l2TableOffset, type LayerFacts } from './table-entries.js';
import type { Qcow2Header } from './types.js';

/** Where the bytes of [guestOffset, guestOffset + length) are in this layer. */
export type Extent =
  | { kind: 'data'; hostOffset: number; length: number }
  | { kind: 'zero'; length: number }
  | { kind: 'backing'; length: number };

const L2_CACHE_TABLES = 64;

export class LayerReader {
  readonly fd: number;
  readonly virtualSize: number;
  private readonly header: Qcow2Header | null;
  private readonly l1: Buffer | null;
  private readonly l2Cache = new Map<number, Buffer>();
  private readonly facts: LayerFacts | null;
  readonly extendedL2: boolean;

  /** `fd`: the file already open (and checked) as `image` was read from it; else it is opened by name. The reader owns it. */
  constructor(readonly path: string, image: ProbedImage, fd?: number) {
    this.fd = fd ?? openImageForRead(path).fd;
    if (image.format === 'raw') {
      this.header = null;
      this.l1 = null;
      this.facts = null;
      this.extendedL2 = false;
      this.virtualSize = roundUpToSector(image.fileSize);
      return;
    }
    this.header = image.header;
    this.virtualSize = image.header.size;
    this.extendedL2 = (image.header.incompatibleFeatures & IncompatibleFeature.EXTENDED_L2) !== 0n;
    this.l1 = readAt(this.fd, path, image.header.l1TableOffset, image.header.l1Size * 8);
    this.facts = this.layerFacts(image.header, image.fileSize, this.l1);
  }

  /** Where this file's metadata lives: no data cluster may be one of these (its L2 tables neither: l2Tables). */
  private layerFacts(h: Qcow2Header, fileSize: number, l1: Buffer): LayerFacts {
    const cs = h.clusterSize;
    const metadata = new Map<number, string>([[0, 'the header']]);
    const span = (offset: number, bytes: number, what: string) => {
      for (let c = offset / cs; c < Math.ceil((offset + bytes) / cs); c++) metadata.set(c, what);
    };
    span(h.l1TableOffset, h.l1Size * 8, 'the L1 table');
    span(h.refcountTableOffset, h.refcountTableClusters * cs, 'the refcount table');
    // The refcount table was checked to lie inside the file (header.ts); its entries point at the blocks.
    const refTable = readAt(this.fd, this.path, h.refcountTableOffset, h.refcountTableClusters * cs);
    for (let i = 0; i < Math.floor(refTable.length / 8); i++) {
      const block = refTable.readBigUInt64BE(i * 8) & L1_OFFSET_MASK;
      if (block !== 0n && block % BigInt(cs) === 0n && block < BigInt(fileSize)) metadata.set(Number(block) / cs, `refcount block ${i}`);
    }
    // What qemu reads while opening the image (open-tables.ts checked it): none of it is guest data either.
    const read = (offset: number, length: number) => readAt(this.fd, this.path, offset, length);
    for (const [i, s] of snapshotEntries(read, h, this.path).entries()) {
      span(s.offset, s.bytes, `snapshot table entry ${i}`);
      if (s.l1TableOffset % BigInt(cs) === 0n && s.l1TableOffset < BigInt(fileSize) && s.l1Size * 8 <= fileSize) span(Number(s.l1TableOffset), s.l1Size * 8, `the L1 table of snapshot ${i}`);
    }
    const bitmaps = bitmapDirectory(read, h, { path: this.path, fileSize });
    if (bitmaps !== null) span(bitmaps.offset, bitmaps.size, 'the bitmap directory');
    for (const b of bitmaps?.bitmaps ?? []) span(Number(b.tableOffset), b.tableSize * 8, `the table of bitmap ${JSON.stringify(b.name)}`);
    const l2Tables = new Map<number, number>();
    for (let i = 0; i < l1.length / 8; i++) {
      const l2 = l1.readBigUInt64BE(i * 8) & L1_OFFSET_MASK;
      if (l2 !== 0n && l2 % BigInt(cs) === 0n && l2 < BigInt(fileSize) && !l2Tables.has(Number(l2) / cs)) l2Tables.set(Number(l2) / cs, i);
    }
    return { path: this.path, clusterSize: cs, fileSize, version: h.version, extendedL2: this.extendedL2, metadata, l2Tables };
  }

  close(): void {
    closeSync(this.fd);
  }

  get clusterSize(): number {
    return this.header?.clusterSize ?? 0;
  }

  get l1Size(): number {
    return this.header?.l1Size ?? 0;
  }

  /** Guest bytes one L2 table maps. */
  get bytesPerL2(): number {
    const cs = this.clusterSize;
    return cs * (cs / (this.extendedL2 ? 16 : 8));
  }

  /** The L2 table of L1 entry `index` (the entry checked first) and where it is, or null when unallocated. Cached (a few tables). */
  l2Table(index: number): { offset: number; table: Buffer } | null {
    if (this.l1 === null || this.facts === null) return null;
    const offset = l2TableOffset(this.facts, this.l1.readBigUInt64BE(index * 8), { table: 'L1', entry: index, guestOffset: index * this.bytesPerL2 });
    if (offset === null) return null;
    let table = this.l2Cache.get(offset);
    if (table === undefined) {
      table = Buffer.alloc(this.clusterSize); // a table that runs past EOF reads as zeros there, as in qemu
      readAt(this.fd, this.path, offset, this.clusterSize).copy(table);
      if (this.l2Cache.size >= L2_CACHE_TABLES) this.l2Cache.clear();
      this.l2Cache.set(offset, table);
    }
    return { offset, table };
  }

  /** The extent starting at guestOffset, at most maxLength long, never crossing a (sub)cluster. */
  locate(guestOffset: number, maxLength: number): Extent {
    if (guestOffset >= this.virtualSize) return { kind: 'zero', length: maxLength }; // past this layer's end reads as zeros
    const length0 = Math.min(maxLength, this.virtualSize - guestOffset);
    if (this.header === null) return { kind: 'data', hostOffset: guestOffset, length: length0 };
    const cs = this.clusterSize;
    const inCluster = guestOffset % cs;
    const length = Math.min(length0, cs - inCluster);
    const l1Index = Math.floor(guestOffset / this.bytesPerL2);
    const l2 = this.l2Table(l1Index);
    if (l2 === null) return { kind: 'backing', length };
    const { table } = l2;
    const entrySize = this.extendedL2 ? 16 : 8;
    const l2Index = Math.floor(guestOffset / cs) % (cs / entrySize);
    const entry = table.readBigUInt64BE(l2Index * entrySize);
    const bitmap = this.extendedL2 ? table.readBigUInt64BE(l2Index * entrySize + 8) : 0n;
    const where: TableEntry = { table: 'L2', entry: l2Index, guestOffset: guestOffset - inCluster, l2TableOffset: l2.offset, l1Entry: l1Index };
    const host = l2HostCluster(this.facts!, entry, bitmap, where);
    if (!this.extendedL2) {
      if (entry & L2_ZERO_FLAG) return { kind: 'zero', length }; // a v3 image: checked above
      return host === 0 ? { kind: 'backing', length } : { kind: 'data', hostOffset: host + inCluster, length };
    }
    const sub = cs / SUBCLUSTERS_PER_CLUSTER;
    const index = Math.floor(inCluster / sub);
    const subLength = Math.min(length, sub - (inCluster % sub));
    const allocated = (bitmap & (1n << BigInt(index))) !== 0n;
    const zero = (bitmap & (1n << BigInt(index + 32))) !== 0n;
    if (allocated) return { kind: 'data', hostOffset: host + inCluster, length: subLength };
    if (zero) return { kind: 'zero', length: subLength };
    return { kind: 'backing', length: subLength };
  }

  /** L1 entries a read can reach: those covering the virtual size (qemu never looks at the rest). */
  get usedL1Entries(): number {
    return this.header === null ? 0 : Math.min(this.l1Size, Math.ceil(this.virtualSize / this.bytesPerL2));
  }

  /**
   * Call `visit` for every guest cluster L2 table `l1Index` maps (data, zeros
   * or preallocated). A bad L1 entry is not judged here: its whole range is
   * visited, so the read through locate() refuses it, naming the entry.
   */
  mapsSomething(l1Index: number, visit: (guestOffset: number, length: number) => void): void {
    let table: Buffer;
    try {
      const l2 = this.l2Table(l1Index);
      if (l2 === null) return;
      table = l2.table;
    } catch {
      visit(l1Index * this.bytesPerL2, this.bytesPerL2);
      return;
    }
    const cs = this.clusterSize;
    const entrySize = this.extendedL2 ? 16 : 8;
    for (let i = 0; i < cs / entrySize; i++) {
      const entry = table.readBigUInt64BE(i * entrySize);
      const bitmap = this.extendedL2 ? table.readBigUInt64BE(i * entrySize + 8) : 0n;
      if (entry !== 0n || bitmap !== 0n) visit(l1Index * this.bytesPerL2 + i * cs, cs);
    }
  }
}
