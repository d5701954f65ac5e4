/**
 * I/O: the tables qemu reads while opening an image, past the header
 * cluster: the snapshot table (qcow2_read_snapshots) and the bitmap directory
 * with each bitmap's table (bitmap_list_load, load_bitmap). qemu refuses to
 * open an image whose tables break these rules, so a child of one would be a
 * disk qemu cannot open: we refuse it first. Nothing is read when the image
 * has no snapshots and no bitmaps (our own images never do).
 */
import { ErrorCodes, ForkpointError } from '../errors.js';
import { AutoclearFeature, BME_TABLE_OFFSET_MASK } from './constants.js';
import { corrupt, truncated } from './image-errors.js';
import type { Qcow2Header } from './types.js';

export type ReadAt = (position: number, length: number) => Buffer;

/** qemu's QCOW_MAX_SNAPSHOT_EXTRA_DATA and QCOW_MAX_SNAPSHOTS_SIZE. */
const MAX_SNAPSHOT_EXTRA_DATA = 1024;
const MAX_SNAPSHOT_TABLE_BYTES = 64 * 1024 * 1024;
const SNAPSHOT_HEADER_BYTES = 40;

/** Bitmap directory entries and tables (qemu's block/qcow2-bitmap.c limits). */
const BITMAP_ENTRY_BYTES = 24;
const BME_MAX_TABLE_SIZE = 0x8000000;
const BME_MAX_PHYS_SIZE = 0x20000000n;
const BME_MIN_GRANULARITY_BITS = 9;
const BME_MAX_GRANULARITY_BITS = 31;
const BME_MAX_NAME_SIZE = 1023;
const BME_FLAG_IN_USE = 1;
const BME_RESERVED_FLAGS = 0xfffffffc;
const BT_DIRTY_TRACKING_BITMAP = 1;
const BME_TABLE_RESERVED_MASK = 0xff000000000001fen;
/** Ours, not qemu's: every bitmap table is read at open, so a hostile directory could make us read without end. */
const MAX_BITMAP_TABLE_BYTES_TOTAL = 64 * 1024 * 1024;

const align8 = (n: number): number => Math.ceil(n / 8) * 8;

export function checkOpenTables(read: ReadAt, h: Qcow2Header, src: { path: string; fileSize: number }): void {
  snapshotEntries(read, h, src.path);
  bitmapDirectory(read, h, src);
}

/** A snapshot table entry: where it is and the L1 table it keeps. */
export interface SnapshotEntry {
  offset: number;
  bytes: number;
  l1TableOffset: bigint;
  l1Size: number;
}

/** The snapshot table's entries, as qemu_read_snapshots reads them (none without snapshots). */
export function snapshotEntries(read: ReadAt, h: Qcow2Header, path: string): SnapshotEntry[] {
  const entries: SnapshotEntry[] = [];
  let offset = h.snapshotsOffset;
  for (let i = 0; i < h.nbSnapshots; i++) {
    offset = align8(offset);
    const entry = read(offset, SNAPSHOT_HEADER_BYTES);
    if (entry.length < SNAPSHOT_HEADER_BYTES) {
      throw truncated(path, `snapshot table entry ${i} at ${offset} lies beyond the end of the file`, 'snapshots_offset');
    }
    const extra = entry.readUInt32BE(36);
    if (extra > MAX_SNAPSHOT_EXTRA_DATA) {
      throw corrupt(path, `snapshot table entry ${i}: extra_data_size = ${extra}, qemu allows at most ${MAX_SNAPSHOT_EXTRA_DATA}`, 'extra_data_size');
    }
    // The fixed part, then the extra data, the id string (id_str_size at 12), the name (name_size at 14).
    const bytes = SNAPSHOT_HEADER_BYTES + extra + entry.readUInt16BE(12) + entry.readUInt16BE(14);
    entries.push({ offset, bytes, l1TableOffset: entry.readBigUInt64BE(0), l1Size: entry.readUInt32BE(8) });
    offset += bytes;
    if (offset - h.snapshotsOffset > MAX_SNAPSHOT_TABLE_BYTES) {
      throw corrupt(path, `snapshot table is over ${MAX_SNAPSHOT_TABLE_BYTES} bytes at entry ${i} (qemu's limit)`, 'nb_snapshots');
    }
  }
  return entries;
}

/** The bitmap directory and its bitmaps, as qemu loads them; null when the image has none (or they are stale: no autoclear bit). */
export function bitmapDirectory(read: ReadAt, h: Qcow2Header, src: { path: string; fileSize: number }): { offset: number; size: number; bitmaps: BitmapEntry[] } | null {
  const ext = h.extensions.find((e) => e.type === 'bitmaps');
  if (ext === undefined || (h.autoclearFeatures & AutoclearFeature.BITMAPS) === 0n) return null;
  // header-extensions.ts checked the extension: count in range, directory inside the file.
  const [offset, size] = [Number(ext.directoryOffset), Number(ext.directorySize)];
  return { offset, size, bitmaps: checkBitmapDirectory(read, h, src, ext.nbBitmaps, offset, size) };
}

export interface BitmapEntry {
  name: string;
  tableOffset: bigint;
  tableSize: number;
  flags: number;
  granularityBits: number;
}

function checkBitmapDirectory(read: ReadAt, h: Qcow2Header, src: { path: string; fileSize: number }, nbBitmaps: number, dirOffset: number, dirSize: number): BitmapEntry[] {
  const { path } = src;
  const dir = read(dirOffset, dirSize);
  const broken = (problem: string) => corrupt(path, `bitmap directory at ${dirOffset}: ${problem}`, 'bitmap_directory');
  const entries: BitmapEntry[] = [];
  let at = 0;
  while (at < dir.length) {
    if (at + BITMAP_ENTRY_BYTES > dir.length) throw broken(`entry ${entries.length} at byte ${at} is cut off by the directory's end`);
    if (entries.length === nbBitmaps) throw broken(`more entries than nb_bitmaps = ${nbBitmaps}`);
    const nameSize = dir.readUInt16BE(at + 18);
    const extra = dir.readUInt32BE(at + 20);
    const next = at + align8(BITMAP_ENTRY_BYTES + extra + nameSize);
    if (next > dir.length) throw broken(`entry ${entries.length} at byte ${at} runs past the directory's end`);
    const e: BitmapEntry = {
      name: dir.toString('utf8', at + BITMAP_ENTRY_BYTES + extra, at + BITMAP_ENTRY_BYTES + extra + nameSize),
      tableOffset: dir.readBigUInt64BE(at),
      tableSize: dir.readUInt32BE(at + 8),
      flags: dir.readUInt32BE(at + 12),
      granularityBits: dir.readUInt8(at + 17),
    };
    const bad = (problem: string) => broken(`entry ${entries.length} (bitmap ${JSON.stringify(e.name)}): ${problem}`);
    if (extra !== 0) throw bad(`extra_data_size = ${extra}; qemu supports none`);
    // check_dir_entry()
    if (e.tableSize === 0 || e.tableSize > BME_MAX_TABLE_SIZE) throw bad(`bitmap_table_size = ${e.tableSize} out of range 1..${BME_MAX_TABLE_SIZE}`);
    if (e.tableOffset === 0n || e.tableOffset % BigInt(h.clusterSize) !== 0n) throw bad(`bitmap_table_offset = ${e.tableOffset} is not a cluster after the header`);
    if (e.granularityBits < BME_MIN_GRANULARITY_BITS || e.granularityBits > BME_MAX_GRANULARITY_BITS) {
      throw bad(`granularity_bits = ${e.granularityBits} out of range ${BME_MIN_GRANULARITY_BITS}..${BME_MAX_GRANULARITY_BITS}`);
    }
    if ((e.flags & BME_RESERVED_FLAGS) >>> 0 !== 0) throw bad(`flags 0x${e.flags.toString(16)} has reserved bits set`);
    if (nameSize > BME_MAX_NAME_SIZE) throw bad(`name_size = ${nameSize}, at most ${BME_MAX_NAME_SIZE}`);
    if (dir.readUInt8(at + 16) !== BT_DIRTY_TRACKING_BITMAP) throw bad(`type = ${dir.readUInt8(at + 16)}, only 1 (dirty tracking) exists`);
    const physBytes = BigInt(e.tableSize) * BigInt(h.clusterSize);
    if (physBytes > BME_MAX_PHYS_SIZE) throw bad(`its table maps ${physBytes} bytes of bitmap, over qemu's ${BME_MAX_PHYS_SIZE}`);
    if ((e.flags & BME_FLAG_IN_USE) === 0 && BigInt(h.size) > (physBytes * 8n) << BigInt(e.granularityBits)) {
      throw bad(`bitmap_table_size = ${e.tableSize} is too small for a disk of ${h.size} bytes`);
    }
    entries.push(e);
    at = next;
  }
  if (entries.length !== nbBitmaps) throw broken(`${entries.length} entries, nb_bitmaps says ${nbBitmaps}`);
  let tableBytes = 0;
  for (const e of entries) {
    if ((e.flags & BME_FLAG_IN_USE) !== 0) continue; // qemu does not load an in-use (stale) bitmap
    tableBytes += e.tableSize * 8;
    if (tableBytes > MAX_BITMAP_TABLE_BYTES_TOTAL) {
      throw new ForkpointError(ErrorCodes.QCOW2_UNSUPPORTED, `${path}: bitmap tables over ${MAX_BITMAP_TABLE_BYTES_TOTAL} bytes in all: too many to check`, { path, field: 'bitmap_directory' });
    }
    checkBitmapTable(read, h, src, e);
  }
  return entries;
}

/** load_bitmap(): the table must be exactly as long as the disk needs, and each entry well formed (past EOF: zeros). */
function checkBitmapTable(read: ReadAt, h: Qcow2Header, src: { path: string; fileSize: number }, e: BitmapEntry): void {
  const bad = (problem: string) => corrupt(src.path, `bitmap ${JSON.stringify(e.name)}: ${problem}`, 'bitmap_table');
  const table = Buffer.alloc(e.tableSize * 8);
  if (e.tableOffset < BigInt(src.fileSize)) read(Number(e.tableOffset), table.length).copy(table);
  for (let i = 0; i < e.tableSize; i++) {
    const entry = table.readBigUInt64BE(i * 8);
    const offset = entry & BME_TABLE_OFFSET_MASK;
    const malformed =
      (entry & BME_TABLE_RESERVED_MASK) !== 0n || (offset !== 0n && ((entry & 1n) !== 0n || offset % BigInt(h.clusterSize) !== 0n));
    if (malformed) throw bad(`bitmap table entry ${i} = 0x${entry.toString(16)} is malformed`);
  }
  const bits = Math.ceil(h.size / 2 ** e.granularityBits);
  const needed = Math.ceil(bits / (8 * h.clusterSize));
  if (needed !== e.tableSize) throw bad(`bitmap_table_size = ${e.tableSize}, the disk needs exactly ${needed}`);
}
