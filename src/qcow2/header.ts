/**
 * Pure qcow2 header parsing: bytes in, a validated Qcow2Header out. No I/O, so
 * every check can be tested on a Buffer. The checks mirror the ones QEMU makes
 * in qcow2_do_open() (plus "does it fit in the file"), so an image we accept
 * is one qemu-img opens, and each refusal names the file and the field.
 */
import {
  AutoclearFeature,
  IncompatibleFeature,
  MAX_BACKING_FILE_NAME,
  MAX_CLUSTER_BITS,
  MAX_L1_TABLE_BYTES,
  MAX_REFCOUNT_ORDER,
  MAX_REFCOUNT_TABLE_BYTES,
  MAX_SNAPSHOTS,
  MIN_CLUSTER_BITS,
  QCOW2_MAGIC,
  READABLE_INCOMPATIBLE_FEATURES,
  SECTOR_SIZE,
  V2_HEADER_LENGTH,
  V3_MIN_HEADER_LENGTH,
} from './constants.js';
import { corrupt, fieldOutOfRange, notQcow2, truncated, unsupported } from './image-errors.js';
import { parseHeaderExtensions } from './header-extensions.js';
import { convertHint, foreignFormat } from './probe-format.js';
import type { Qcow2Header } from './types.js';

export interface HeaderSource {
  /** Named in every error. */
  path: string;
  /** Size of the whole file: tables must lie inside it. */
  fileSize: number;
}

/** True when the buffer starts with the qcow2 magic (format probing, as qemu does). */
export function hasQcow2Magic(buf: Buffer): boolean {
  return buf.length >= 4 && buf.readUInt32BE(0) === QCOW2_MAGIC;
}

/** A u64 field as a JS number; anything past 2^53 cannot be a real offset or size. */
function u64(buf: Buffer, at: number, field: string, path: string): number {
  const v = buf.readBigUInt64BE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    // qemu can make a disk that big (8 PiB and more): a real image we do not handle, not a corrupt one.
    if (field === 'size') throw unsupported(path, `virtual size ${v} is over ${Number.MAX_SAFE_INTEGER} bytes (8 PiB), which forkpoint does not handle`, 'size');
    throw fieldOutOfRange(path, field, v, `0..${Number.MAX_SAFE_INTEGER}`);
  }
  return Number(v);
}

/**
 * How many bytes from the start of the file the header may occupy: the whole
 * first cluster (extensions and the backing name live there), cut at EOF.
 * Needs only the first 24 bytes; the I/O layer uses it to size its read.
 */
export function headerAreaLength(prefix: Buffer, fileSize: number): number {
  const clusterBits = prefix.length >= 24 ? prefix.readUInt32BE(20) : MIN_CLUSTER_BITS;
  const bits = Math.min(Math.max(clusterBits, MIN_CLUSTER_BITS), MAX_CLUSTER_BITS);
  return Math.min(2 ** bits, fileSize);
}

/**
 * How many leading bytes parseHeader needs, judged from a prefix: up to the
 * end marker of the extensions and the end of the backing name. When the
 * prefix cannot tell (extensions run past it), the whole header area.
 * Saves reading a 64 KiB-2 MiB cluster to parse ~1 KiB.
 */
export function headerBytesToRead(prefix: Buffer, fileSize: number): number {
  const area = headerAreaLength(prefix, fileSize);
  if (prefix.length < V3_MIN_HEADER_LENGTH || !hasQcow2Magic(prefix)) return Math.min(area, prefix.length);
  const version = prefix.readUInt32BE(4);
  const nameEnd = Number(prefix.readBigUInt64BE(8)) + prefix.readUInt32BE(16);
  let at = version === 3 ? prefix.readUInt32BE(100) : V2_HEADER_LENGTH;
  while (at + 8 <= prefix.length) {
    if (prefix.readUInt32BE(at) === 0) return Math.min(area, Math.max(at + 8, nameEnd));
    // Plain arithmetic, not `(len + 7) & ~7`: bitwise ops are 32-bit signed in JS, and a hostile
    // length of 0xFFFFFFF8 made the step 0 (an endless loop in a pool thread). A length past the
    // area ends the scan; parseHeaderExtensions then refuses it with the field named.
    const len = prefix.readUInt32BE(at + 4);
    if (len > area - at - 8) return area;
    at += 8 + Math.ceil(len / 8) * 8;
  }
  return area;
}

/**
 * Parse and validate. `buf` must hold the header area (headerAreaLength bytes)
 * or the whole file if that is shorter.
 */
export function parseHeader(buf: Buffer, src: HeaderSource): Qcow2Header {
  const { path, fileSize } = src;
  if (!hasQcow2Magic(buf)) {
    if (fileSize < 4) throw notQcow2(path, `not a qcow2 image: file is only ${fileSize} bytes`);
    const other = foreignFormat(buf, path, fileSize);
    const hint = other === null ? '' : ` (qemu sees a ${other} image: ${convertHint(path, other)})`;
    throw notQcow2(path, `not a qcow2 image: magic is 0x${buf.readUInt32BE(0).toString(16).padStart(8, '0')}, expected 0x514649fb ("QFI\\xfb")${hint}`);
  }
  if (buf.length < 8) throw truncated(path, `truncated qcow2 header: ${fileSize} bytes, need ${V2_HEADER_LENGTH}`, 'version');
  const version = buf.readUInt32BE(4);
  if (version === 1) throw unsupported(path, `a qcow (version 1) image, not qcow2: ${convertHint(path, 'qcow')}`, 'version');
  if (version !== 2 && version !== 3) throw unsupported(path, `header field version = ${version}: only qcow2 versions 2 and 3 exist`, 'version');
  const fixedLength = version === 2 ? V2_HEADER_LENGTH : V3_MIN_HEADER_LENGTH;
  if (buf.length < fixedLength) {
    throw truncated(path, `truncated qcow2 header: ${fileSize} bytes, a version ${version} header needs ${fixedLength}`);
  }

  const clusterBits = buf.readUInt32BE(20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw fieldOutOfRange(path, 'cluster_bits', clusterBits, `${MIN_CLUSTER_BITS}..${MAX_CLUSTER_BITS}`);
  }
  const clusterSize = 2 ** clusterBits;
  const storedSize = u64(buf, 24, 'size', path);

  const h: Qcow2Header = {
    version,
    backingFileOffset: u64(buf, 8, 'backing_file_offset', path),
    backingFileSize: buf.readUInt32BE(16),
    clusterBits,
    clusterSize,
    // qemu ignores a partial last sector (total_sectors = size / 512): so do we, everywhere.
    size: storedSize - (storedSize % SECTOR_SIZE),
    cryptMethod: buf.readUInt32BE(32),
    l1Size: buf.readUInt32BE(36),
    l1TableOffset: u64(buf, 40, 'l1_table_offset', path),
    refcountTableOffset: u64(buf, 48, 'refcount_table_offset', path),
    refcountTableClusters: buf.readUInt32BE(56),
    nbSnapshots: buf.readUInt32BE(60),
    snapshotsOffset: u64(buf, 64, 'snapshots_offset', path),
    // v2 images behave as v3 with no features, 16-bit refcounts and a 72-byte header.
    incompatibleFeatures: version === 3 ? buf.readBigUInt64BE(72) : 0n,
    compatibleFeatures: version === 3 ? buf.readBigUInt64BE(80) : 0n,
    autoclearFeatures: version === 3 ? buf.readBigUInt64BE(88) : 0n,
    refcountOrder: version === 3 ? buf.readUInt32BE(96) : 4,
    headerLength: version === 3 ? buf.readUInt32BE(100) : V2_HEADER_LENGTH,
    compressionType: 0,
    extensions: [],
    extensionsEnd: 0,
    backingFile: null,
    backingFormat: null,
  };

  validateFeatures(h, path);
  validateHeaderLength(h, path, buf);
  if (h.version === 3 && h.headerLength > V3_MIN_HEADER_LENGTH) h.compressionType = buf.readUInt8(104);
  if (h.compressionType > 1) throw unsupported(path, `header field compression_type = ${h.compressionType} is unknown (0 zlib, 1 zstd)`, 'compression_type');
  // As qemu: the compression-type feature bit is set exactly when the type is not zlib.
  const typeBit = (h.incompatibleFeatures & IncompatibleFeature.COMPRESSION_TYPE) !== 0n;
  if (typeBit !== (h.compressionType !== 0)) {
    throw corrupt(
      path,
      `header field compression_type = ${h.compressionType} but incompatible feature bit 3 is ${typeBit ? 'set' : 'clear'} (it must be set exactly for a non-zlib type)`,
      'compression_type',
    );
  }
  // Extended L2 splits a cluster into 32 subclusters, each at least 512 bytes (qemu's rule).
  if ((h.incompatibleFeatures & IncompatibleFeature.EXTENDED_L2) !== 0n && h.clusterBits < 14) {
    throw unsupported(path, `extended L2 entries need clusters of at least 16 KiB (subclusters of 512 bytes); cluster_bits is ${h.clusterBits}`, 'cluster_bits');
  }
  validateTables(h, src, storedSize);
  readBackingName(h, buf, src);

  const ext = parseHeaderExtensions(buf, h, src);
  h.extensions = ext.extensions;
  h.extensionsEnd = ext.end;
  h.backingFormat = ext.backingFormat;
  if (ext.externalDataFile !== null) {
    throw unsupported(path, `uses an external data file (${JSON.stringify(ext.externalDataFile)}): not supported`, 'external_data_file');
  }
  return h;
}

function validateFeatures(h: Qcow2Header, path: string): void {
  const incompatible = h.incompatibleFeatures;
  if (incompatible & IncompatibleFeature.CORRUPT) {
    throw corrupt(path, 'image is marked corrupt by QEMU (incompatible feature bit 1); repair it with qemu-img check -r', 'incompatible_features');
  }
  if (incompatible & IncompatibleFeature.EXTERNAL_DATA_FILE) {
    throw unsupported(path, 'uses an external data file (incompatible feature bit 2): not supported', 'incompatible_features');
  }
  // Bit 1 says the external data file is raw: with no data file, qemu will not open the image
  // (and an image of ours made on it, an overlay or an imported disk, would not open either).
  if (h.autoclearFeatures & AutoclearFeature.RAW_EXTERNAL_DATA) {
    throw corrupt(path, 'header field autoclear_features has bit 1 (data-file-raw) set but the image has no external data file (qemu refuses to open it)', 'autoclear_features');
  }
  const unknown = incompatible & ~READABLE_INCOMPATIBLE_FEATURES;
  if (unknown !== 0n) {
    throw unsupported(path, `header field incompatible_features = 0x${incompatible.toString(16)} has unknown bits 0x${unknown.toString(16)}`, 'incompatible_features');
  }
  if (h.cryptMethod !== 0) {
    const kind = h.cryptMethod === 1 ? 'AES' : h.cryptMethod === 2 ? 'LUKS' : `method ${h.cryptMethod}`;
    throw unsupported(path, `image is encrypted (header field crypt_method = ${h.cryptMethod}, ${kind}): not supported`, 'crypt_method');
  }
  if (h.refcountOrder > MAX_REFCOUNT_ORDER) {
    throw fieldOutOfRange(path, 'refcount_order', h.refcountOrder, `0..${MAX_REFCOUNT_ORDER}`);
  }
}

function validateHeaderLength(h: Qcow2Header, path: string, buf: Buffer): void {
  if (h.version === 2) return;
  if (h.headerLength < V3_MIN_HEADER_LENGTH || h.headerLength > h.clusterSize) {
    throw fieldOutOfRange(path, 'header_length', h.headerLength, `${V3_MIN_HEADER_LENGTH}..${h.clusterSize}`);
  }
  // The spec's rule (extensions start at header_length and are 8-byte aligned). qemu 7.2 does not
  // check it and then parses the extensions from an odd offset, so we refuse rather than guess.
  if (h.headerLength % 8 !== 0) {
    throw corrupt(path, `header field header_length = ${h.headerLength} is not a multiple of 8`, 'header_length');
  }
  if (h.headerLength > buf.length) {
    throw truncated(path, `header field header_length = ${h.headerLength} but the file has ${buf.length} bytes`, 'header_length');
  }
}

/** A table [offset, offset+bytes) must be cluster aligned and inside the file. */
function checkTable(src: HeaderSource, h: Qcow2Header, field: string, offset: number, bytes: number): void {
  if (bytes === 0) return;
  if (offset % h.clusterSize !== 0) {
    throw corrupt(src.path, `header field ${field} = ${offset} is not aligned to the cluster size ${h.clusterSize}`, field);
  }
  if (offset === 0) throw corrupt(src.path, `header field ${field} = 0 points into the header cluster`, field);
  if (offset + bytes > src.fileSize) {
    throw truncated(src.path, `header field ${field} = ${offset} (+${bytes} bytes) lies beyond the end of the file (${src.fileSize} bytes)`, field);
  }
}

/** `storedSize`: the size field before rounding; qemu sizes the L1 table check with it. */
function validateTables(h: Qcow2Header, src: HeaderSource, storedSize: number): void {
  const { path } = src;
  const l1Bytes = h.l1Size * 8;
  if (l1Bytes > MAX_L1_TABLE_BYTES) throw fieldOutOfRange(path, 'l1_size', h.l1Size, `0..${MAX_L1_TABLE_BYTES / 8}`);
  // Each L1 entry maps clusterSize/8 clusters (extended L2 entries are twice as wide).
  const extendedL2 = (h.incompatibleFeatures & IncompatibleFeature.EXTENDED_L2) !== 0n;
  const bytesPerL1Entry = h.clusterSize * (h.clusterSize / (extendedL2 ? 16 : 8));
  const neededL1 = Math.ceil(storedSize / bytesPerL1Entry);
  if (h.l1Size < neededL1) {
    throw corrupt(path, `header field l1_size = ${h.l1Size} is too small for size = ${storedSize} (needs ${neededL1})`, 'l1_size');
  }
  checkTable(src, h, 'l1_table_offset', h.l1TableOffset, l1Bytes);

  const refcountTableBytes = h.refcountTableClusters * h.clusterSize;
  if (h.refcountTableClusters === 0 || refcountTableBytes > MAX_REFCOUNT_TABLE_BYTES) {
    throw fieldOutOfRange(path, 'refcount_table_clusters', h.refcountTableClusters, `1..${MAX_REFCOUNT_TABLE_BYTES / h.clusterSize}`);
  }
  checkTable(src, h, 'refcount_table_offset', h.refcountTableOffset, refcountTableBytes);

  if (h.nbSnapshots > MAX_SNAPSHOTS) throw fieldOutOfRange(path, 'nb_snapshots', h.nbSnapshots, `0..${MAX_SNAPSHOTS}`);
  // A snapshot table entry is at least 40 bytes; only its start is checked here.
  if (h.nbSnapshots > 0) checkTable(src, h, 'snapshots_offset', h.snapshotsOffset, 40);
}

/** The backing name lives in the header cluster; QEMU refuses more than 1023 bytes. */
function readBackingName(h: Qcow2Header, buf: Buffer, src: HeaderSource): void {
  const { path } = src;
  // Whatever the size: qemu refuses the offset first ("Invalid backing file offset"), so an empty name there is no excuse.
  if (h.backingFileOffset > h.clusterSize) {
    throw corrupt(path, `header field backing_file_offset = ${h.backingFileOffset} lies past the header cluster (${h.clusterSize} bytes)`, 'backing_file_offset');
  }
  if (h.backingFileOffset === 0 || h.backingFileSize === 0) return;
  const { backingFileOffset: offset, backingFileSize: size } = h;
  if (size > MAX_BACKING_FILE_NAME) {
    throw fieldOutOfRange(path, 'backing_file_size', size, `0..${MAX_BACKING_FILE_NAME} (qemu's limit)`);
  }
  if (offset < h.headerLength) {
    throw corrupt(path, `header field backing_file_offset = ${offset} points inside the fixed header (${h.headerLength} bytes)`, 'backing_file_offset');
  }
  if (offset + size > h.clusterSize) {
    throw corrupt(path, `backing file name at ${offset} (+${size} bytes) runs past the header cluster (${h.clusterSize} bytes)`, 'backing_file_offset');
  }
  if (offset + size > src.fileSize || offset + size > buf.length) {
    throw truncated(path, `backing file name at ${offset} (+${size} bytes) lies beyond the end of the file (${src.fileSize} bytes)`, 'backing_file_offset');
  }
  const name = buf.subarray(offset, offset + size);
  if (name.includes(0)) throw corrupt(path, 'backing file name contains a NUL byte', 'backing_file_offset');
  h.backingFile = name.toString('utf8');
}
