/**
 * Pure: the bytes of a fresh qcow2 v3 overlay. A new child maps nothing, so
 * it is only metadata:
 *
 *   cluster 0           header, backing-format extension, end marker, backing name
 *   cluster 1..         refcount table (points at the refcount blocks)
 *   then                refcount blocks (refcount 1 for every cluster of the file)
 *   then                L1 table, all zeros (every guest read falls to the backing file)
 *
 * The L1 table is zeros, so it needs no write at all: the file is extended
 * with ftruncate and stays sparse. The plan is identical for every child of
 * one base, so batch clones compute it once.
 */
import {
  CHILD_DEFAULT_CLUSTER_BITS,
  CHILD_REFCOUNT_ORDER,
  MAX_CLUSTER_BITS,
  HeaderExtensionType,
  MAX_BACKING_FILE_NAME,
  MAX_L1_TABLE_BYTES,
  QCOW2_MAGIC,
  V3_HEADER_LENGTH,
} from './constants.js';
import { l1EntriesFor, sizeRefcountStructures } from './refcount-sizing.js';
import { ErrorCodes, ForkpointError } from '../errors.js';
import type { ImageFormat } from './types.js';

export interface ChildSpec {
  /** Absolute backing path as it will be stored ('' in the plan of a standalone image). */
  backingPath: string;
  backingFormat: ImageFormat;
  virtualSize: number;
  clusterBits: number;
}

export interface PositionedWrite {
  offset: number;
  bytes: Buffer;
}

export interface ChildPlan {
  spec: ChildSpec;
  clusterSize: number;
  /** The non-zero parts of the file, in offset order. */
  writes: PositionedWrite[];
  /** Final file length (ftruncate target); everything not written reads as zeros. */
  fileLength: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
}

const pad8 = (n: number): number => (n + 7) & ~7;

/** Bytes the header cluster needs for this backing name and format. */
export function headerBytesNeeded(backingPath: string, backingFormat: string): number {
  return V3_HEADER_LENGTH + 8 + pad8(Buffer.byteLength(backingFormat)) + 8 + Buffer.byteLength(backingPath);
}

/**
 * The header cluster: fixed header, backing format extension, end marker and
 * then the name. Exported for setBackingPath's in-place rewrite.
 */
export function encodeExtensionsAndName(headerLength: number, backingName: string | null, backingFormat: string | null, keep: Buffer[] = []): { bytes: Buffer; nameOffset: number } {
  const parts: Buffer[] = [];
  if (backingFormat !== null) {
    const fmt = Buffer.from(backingFormat, 'utf8');
    const ext = Buffer.alloc(8 + pad8(fmt.length));
    ext.writeUInt32BE(HeaderExtensionType.BACKING_FORMAT, 0);
    ext.writeUInt32BE(fmt.length, 4);
    fmt.copy(ext, 8);
    parts.push(ext);
  }
  parts.push(...keep, Buffer.alloc(8)); // end marker: type 0, length 0
  const nameOffset = headerLength + parts.reduce((n, p) => n + p.length, 0);
  if (backingName !== null) parts.push(Buffer.from(backingName, 'utf8'));
  return { bytes: Buffer.concat(parts), nameOffset };
}

/**
 * The child's cluster size: the parent's when it is qcow2 (copy-on-write then
 * stays aligned with the parent's allocation), 64 KiB for a raw parent. The
 * header cluster must also hold the backing name, so a 512-byte parent with a
 * long path gets a bigger child cluster.
 */
export function childClusterBits(parentClusterBits: number | undefined, backingPath: string, backingFormat: string): number {
  let bits = parentClusterBits ?? CHILD_DEFAULT_CLUSTER_BITS;
  while (headerBytesNeeded(backingPath, backingFormat) > 2 ** bits && bits < MAX_CLUSTER_BITS) bits++;
  return bits;
}

export function planChild(spec: ChildSpec): ChildPlan {
  const clusterSize = 2 ** spec.clusterBits;
  const nameBytes = Buffer.byteLength(spec.backingPath);
  if (nameBytes > MAX_BACKING_FILE_NAME) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `${spec.backingPath}: backing path is ${nameBytes} bytes, qemu's limit is ${MAX_BACKING_FILE_NAME}`, { path: spec.backingPath });
  }
  if (headerBytesNeeded(spec.backingPath, spec.backingFormat) > clusterSize) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `${spec.backingPath}: backing path does not fit in a ${clusterSize}-byte header cluster`, { path: spec.backingPath });
  }
  return planImage(spec, { path: spec.backingPath, format: spec.backingFormat });
}

/** A standalone empty image (no backing file): the same layout, minus the name. */
export function planEmptyImage(virtualSize: number, clusterBits = CHILD_DEFAULT_CLUSTER_BITS): ChildPlan {
  return planImage({ backingPath: '', backingFormat: 'raw', virtualSize, clusterBits }, null);
}

export interface V3HeaderFields {
  clusterBits: number;
  virtualSize: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  backingNameOffset?: number;
  backingNameBytes?: number;
}

/**
 * The 104-byte v3 header of every image we write (children, empty images,
 * flattened copies): 16-bit refcounts, no encryption, no snapshots, no
 * feature bits, zlib compression type. Pure.
 */
export function encodeV3Header(f: V3HeaderFields): Buffer {
  const header = Buffer.alloc(V3_HEADER_LENGTH);
  header.writeUInt32BE(QCOW2_MAGIC, 0);
  header.writeUInt32BE(3, 4);
  header.writeBigUInt64BE(BigInt(f.backingNameOffset ?? 0), 8);
  header.writeUInt32BE(f.backingNameBytes ?? 0, 16);
  header.writeUInt32BE(f.clusterBits, 20);
  header.writeBigUInt64BE(BigInt(f.virtualSize), 24);
  // crypt_method 0 at 32
  header.writeUInt32BE(f.l1Size, 36);
  header.writeBigUInt64BE(BigInt(f.l1TableOffset), 40);
  header.writeBigUInt64BE(BigInt(f.refcountTableOffset), 48);
  header.writeUInt32BE(f.refcountTableClusters, 56);
  // nb_snapshots, snapshots_offset, all feature bitmaps: 0
  header.writeUInt32BE(CHILD_REFCOUNT_ORDER, 96);
  header.writeUInt32BE(V3_HEADER_LENGTH, 100);
  // compression_type 0 (zlib) at 104 lies past header_length 104: absent means zlib
  return header;
}

function planImage(spec: ChildSpec, backing: { path: string; format: string } | null): ChildPlan {
  const clusterSize = 2 ** spec.clusterBits;
  const nameBytes = backing === null ? 0 : Buffer.byteLength(backing.path);
  const l1Size = l1EntriesFor(spec.virtualSize, clusterSize);
  if (l1Size * 8 > MAX_L1_TABLE_BYTES) {
    throw new ForkpointError(ErrorCodes.QCOW2_UNSUPPORTED, `${spec.backingPath}: virtual size ${spec.virtualSize} needs an L1 table over qemu's 32 MiB limit with ${clusterSize}-byte clusters`, { path: spec.backingPath });
  }
  const l1Clusters = Math.ceil((l1Size * 8) / clusterSize);
  const sizing = sizeRefcountStructures(1 + l1Clusters, clusterSize, CHILD_REFCOUNT_ORDER);
  const refcountTableOffset = clusterSize; // cluster 1
  const firstBlockCluster = 1 + sizing.refcountTableClusters;
  const l1TableOffset = (firstBlockCluster + sizing.refcountBlocks) * clusterSize;

  const ext = encodeExtensionsAndName(V3_HEADER_LENGTH, backing?.path ?? null, backing?.format ?? null);
  const header = encodeV3Header({
    clusterBits: spec.clusterBits,
    virtualSize: spec.virtualSize,
    l1Size,
    l1TableOffset,
    refcountTableOffset,
    refcountTableClusters: sizing.refcountTableClusters,
    backingNameOffset: backing !== null ? ext.nameOffset : 0,
    backingNameBytes: nameBytes,
  });

  // Refcount table: one entry per refcount block; blocks are contiguous.
  const table = Buffer.alloc(sizing.refcountBlocks * 8);
  for (let i = 0; i < sizing.refcountBlocks; i++) table.writeBigUInt64BE(BigInt((firstBlockCluster + i) * clusterSize), i * 8);
  // Refcount blocks: 16-bit big-endian 1 for every cluster in the file. Contiguous
  // blocks make this one run of entries; entries past the last cluster stay 0.
  const refcounts = Buffer.alloc(sizing.totalClusters * 2);
  for (let i = 0; i < sizing.totalClusters; i++) refcounts.writeUInt16BE(1, i * 2);

  return {
    spec,
    clusterSize,
    writes: [
      { offset: 0, bytes: Buffer.concat([header, ext.bytes]) },
      { offset: refcountTableOffset, bytes: table },
      { offset: firstBlockCluster * clusterSize, bytes: refcounts },
    ],
    fileLength: sizing.totalClusters * clusterSize,
    l1Size,
    l1TableOffset,
    refcountTableOffset,
    refcountTableClusters: sizing.refcountTableClusters,
  };
}
