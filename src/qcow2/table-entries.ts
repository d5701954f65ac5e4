/**
 * Pure: the rules an L1 or L2 entry must pass before we read guest data
 * through it. Where qemu fails the read (an unaligned offset, an invalid
 * subcluster bitmap, a zero flag in a v2 image) and where qemu-img check
 * reports corruption (reserved bits, a cluster past the end of the file, a
 * data cluster that is metadata), the entry is refused: read as it stands it
 * would give zeros or some other file's bytes, and we must never turn that
 * into a disk with silently wrong data. Offsets are compared as bigints, so a
 * huge one is an error naming the entry, never a bad `position` for pread.
 */
import { ErrorCodes } from '../errors.js';
import { L1_OFFSET_MASK, L1_RESERVED_MASK, L2_COMPRESSED, L2_OFFSET_MASK, L2_RESERVED_MASK, L2_ZERO_FLAG } from './constants.js';
import { badTableEntry, type TableEntry } from './image-errors.js';

/** What a layer knows about its own file, to judge its entries. */
export interface LayerFacts {
  path: string;
  clusterSize: number;
  fileSize: number;
  version: number;
  extendedL2: boolean;
  /** Host cluster index → the metadata there (header, L1 table, refcount table and blocks, snapshot and bitmap tables). */
  metadata: Map<number, string>;
  /** Host cluster index → the L1 entry whose L2 table is there. */
  l2Tables: Map<number, number>;
}

const hex = (n: bigint | number): string => `0x${n.toString(16)}`;
const ALL_SUBCLUSTERS = 0xffffffffn;

/** Alignment, end of file, and (for data) metadata: the checks every host offset gets. */
function checkHostOffset(f: LayerFacts, where: TableEntry, what: string, offset: bigint, isData: boolean): number {
  const corrupt = (problem: string) => badTableEntry(ErrorCodes.QCOW2_CORRUPT, f.path, where, problem);
  if (offset % BigInt(f.clusterSize) !== 0n) throw corrupt(`${what} offset ${hex(offset)} is not aligned to the cluster size (${f.clusterSize})`);
  // qemu-img check's rule: a cluster may run past EOF (that tail reads as zeros), not start at or after it.
  if (offset >= BigInt(f.fileSize)) throw corrupt(`${what} offset ${hex(offset)} lies beyond the end of the file (${f.fileSize} bytes)`);
  const n = Number(offset);
  const cluster = n / f.clusterSize;
  const meta = f.metadata.get(cluster) ?? (isData && f.l2Tables.has(cluster) ? `the L2 table of L1 entry ${f.l2Tables.get(cluster)}` : undefined);
  if (meta !== undefined) throw corrupt(`${what} offset ${hex(offset)} points at ${meta}, not at a cluster of its own`);
  return n;
}

/** The L2 table offset an L1 entry points at, or null when it maps nothing. */
export function l2TableOffset(f: LayerFacts, entry: bigint, where: TableEntry): number | null {
  const reserved = entry & L1_RESERVED_MASK;
  if (reserved !== 0n) throw badTableEntry(ErrorCodes.QCOW2_CORRUPT, f.path, where, `reserved bits ${hex(reserved)} are set in ${hex(entry)}`);
  const offset = entry & L1_OFFSET_MASK;
  return offset === 0n ? null : checkHostOffset(f, where, 'L2 table', offset, false);
}

/**
 * The host cluster of an L2 entry (0 when it has none), after every check.
 * `bitmap` is the extended-L2 subcluster bitmap (0n without extended L2).
 */
export function l2HostCluster(f: LayerFacts, entry: bigint, bitmap: bigint, where: TableEntry): number {
  const corrupt = (problem: string) => badTableEntry(ErrorCodes.QCOW2_CORRUPT, f.path, where, problem);
  if (entry & L2_COMPRESSED) {
    throw badTableEntry(ErrorCodes.QCOW2_UNSUPPORTED, f.path, where, 'a compressed cluster: forkpoint does not decompress; use qemu-img convert');
  }
  const reserved = entry & L2_RESERVED_MASK;
  if (reserved !== 0n) throw corrupt(`reserved bits ${hex(reserved)} are set in ${hex(entry)}`);
  if (!f.extendedL2 && entry & L2_ZERO_FLAG && f.version < 3) throw corrupt('the zero flag is set in a version 2 image');
  const offset = entry & L2_OFFSET_MASK;
  if (f.extendedL2) {
    // As qemu: the whole cluster's bitmap is judged, whichever subcluster is read.
    const both = (bitmap >> 32n) & bitmap & ALL_SUBCLUSTERS;
    if (both !== 0n) throw corrupt(`subclusters ${hex(both)} are marked both allocated and zero`);
    if (offset === 0n && (bitmap & ALL_SUBCLUSTERS) !== 0n) throw corrupt('subclusters are marked allocated but the cluster has no host offset');
  }
  return offset === 0n ? 0 : checkHostOffset(f, where, 'data cluster', offset, true);
}
