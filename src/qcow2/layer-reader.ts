/**
 * I/O: read guest data of ONE image (no backing): for a guest range, say
 * where its bytes are: "data at host offset X", "zeros", or "not here, ask
 * the backing file". qcow2 lookups go L1 → L2 → data cluster; extended L2
 * entries add a 32-subcluster allocation/zero bitmap. Compressed clusters are
 * refused: we never need them for our own images, and decoding zlib/zstd
 * clusters is a job for qemu-img convert.
 */
import { closeSync } from 'node:fs';
import { IncompatibleFeature, L1_OFFSET_MASK, L2_COMPRESSED, L2_OFFSET_MASK, L2_ZERO_FLAG, SUBCLUSTERS_PER_CLUSTER } from './constants.js';
import { corrupt, unsupported } from './image-errors.js';
import { openImageForRead, readAt, type ProbedImage } from './read-header.js';
import { roundUpToSector } from './chain.js';
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
  readonly extendedL2: boolean;

  constructor(readonly path: string, image: ProbedImage) {
    this.fd = openImageForRead(path).fd;
    if (image.format === 'raw') {
      this.header = null;
      this.l1 = null;
      this.extendedL2 = false;
      this.virtualSize = roundUpToSector(image.fileSize);
      return;
    }
    this.header = image.header;
    this.virtualSize = image.header.size;
    this.extendedL2 = (image.header.incompatibleFeatures & IncompatibleFeature.EXTENDED_L2) !== 0n;
    this.l1 = readAt(this.fd, path, image.header.l1TableOffset, image.header.l1Size * 8);
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

  /** The L2 table of L1 entry `index`, or null when unallocated. Cached (a few tables). */
  l2Table(index: number): Buffer | null {
    if (this.l1 === null) return null;
    const entry = this.l1.readBigUInt64BE(index * 8) & L1_OFFSET_MASK;
    if (entry === 0n) return null;
    const offset = Number(entry);
    const cached = this.l2Cache.get(offset);
    if (cached) return cached;
    const table = readAt(this.fd, this.path, offset, this.clusterSize);
    if (table.length < this.clusterSize) throw corrupt(this.path, `L2 table at ${offset} (L1 entry ${index}) lies beyond the end of the file`, 'l1_table');
    if (this.l2Cache.size >= L2_CACHE_TABLES) this.l2Cache.clear();
    this.l2Cache.set(offset, table);
    return table;
  }

  /** The extent starting at guestOffset, at most maxLength long, never crossing a (sub)cluster. */
  locate(guestOffset: number, maxLength: number): Extent {
    if (guestOffset >= this.virtualSize) return { kind: 'zero', length: maxLength }; // past this layer's end reads as zeros
    const length0 = Math.min(maxLength, this.virtualSize - guestOffset);
    if (this.header === null) return { kind: 'data', hostOffset: guestOffset, length: length0 };
    const cs = this.clusterSize;
    const inCluster = guestOffset % cs;
    const length = Math.min(length0, cs - inCluster);
    const table = this.l2Table(Math.floor(guestOffset / this.bytesPerL2));
    if (table === null) return { kind: 'backing', length };
    const entrySize = this.extendedL2 ? 16 : 8;
    const at = (Math.floor(guestOffset / cs) % (cs / entrySize)) * entrySize;
    const entry = table.readBigUInt64BE(at);
    if (entry & L2_COMPRESSED) throw unsupported(this.path, `guest offset ${guestOffset} is in a compressed cluster; flatten does not decompress (use qemu-img convert)`, 'l2_entry');
    const host = Number(entry & L2_OFFSET_MASK);
    // Entries qemu refuses to read are refused here too, rather than flattened into garbage
    // (a host offset of 0 would copy the header's bytes into the guest disk).
    const bad = (why: string) => corrupt(this.path, `L2 entry for guest offset ${guestOffset}: ${why}`, 'l2_entry');
    if (host % cs !== 0) throw bad(`data offset ${host} is not cluster aligned`);
    if (!this.extendedL2) {
      if (entry & L2_ZERO_FLAG) {
        if (this.header.version !== 3) throw bad('zero flag in a version 2 image');
        return { kind: 'zero', length };
      }
      return host === 0 ? { kind: 'backing', length } : { kind: 'data', hostOffset: host + inCluster, length };
    }
    const bitmap = table.readBigUInt64BE(at + 8);
    const sub = cs / SUBCLUSTERS_PER_CLUSTER;
    const index = Math.floor(inCluster / sub);
    const subLength = Math.min(length, sub - (inCluster % sub));
    const allocated = (bitmap & (1n << BigInt(index))) !== 0n;
    const zero = (bitmap & (1n << BigInt(index + 32))) !== 0n;
    if (allocated && zero) throw bad(`subcluster ${index} is marked both allocated and zero`);
    if (allocated && host === 0) throw bad(`subcluster ${index} is allocated but the cluster has no host offset`);
    if (allocated) return { kind: 'data', hostOffset: host + inCluster, length: subLength };
    if (zero) return { kind: 'zero', length: subLength };
    return { kind: 'backing', length: subLength };
  }

  /** Call `visit` for every guest cluster L2 table `l1Index` maps (data, zeros or preallocated). */
  mapsSomething(l1Index: number, visit: (guestOffset: number, length: number) => void): void {
    const table = this.l2Table(l1Index);
    if (table === null) return;
    const cs = this.clusterSize;
    const entrySize = this.extendedL2 ? 16 : 8;
    for (let i = 0; i < cs / entrySize; i++) {
      const entry = table.readBigUInt64BE(i * entrySize);
      const bitmap = this.extendedL2 ? table.readBigUInt64BE(i * entrySize + 8) : 0n;
      if (entry !== 0n || bitmap !== 0n) visit(l1Index * this.bytesPerL2 + i * cs, cs);
    }
  }
}
