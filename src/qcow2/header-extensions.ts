/**
 * Pure parsing of the header extension area: a list of (type u32, length u32,
 * data padded to 8 bytes) records that starts right after the fixed header and
 * ends at a type-0 record. Like QEMU, we stop at the backing file name when
 * there is one (extensions must end before it) and at the header cluster's end.
 */
import { AutoclearFeature, FEATURE_NAME_ENTRY_BYTES, HeaderExtensionType } from './constants.js';
import { corrupt, truncated } from './image-errors.js';
import type { FeatureName, HeaderExtension, Qcow2Header } from './types.js';

/** qemu's QCOW2_MAX_BITMAPS and QCOW2_MAX_BITMAP_DIRECTORY_SIZE (1 KiB per bitmap). */
export const MAX_BITMAPS = 65535;
export const MAX_BITMAP_DIRECTORY_BYTES = 1024 * MAX_BITMAPS;
/** crypt_method of a LUKS image: the only one with a crypto header extension. */
const CRYPT_LUKS = 2;

type ExtensionContext = Pick<Qcow2Header, 'headerLength' | 'backingFileOffset' | 'clusterSize' | 'backingFile' | 'cryptMethod' | 'autoclearFeatures'>;

export interface ParsedExtensions {
  extensions: HeaderExtension[];
  /** Offset just past the end marker (or where parsing stopped). */
  end: number;
  backingFormat: string | null;
  externalDataFile: string | null;
}

const FEATURE_KINDS: FeatureName['kind'][] = ['incompatible', 'compatible', 'autoclear'];

const pad8 = (n: number): number => (n + 7) & ~7;

function cString(data: Buffer): string {
  const nul = data.indexOf(0);
  return (nul === -1 ? data : data.subarray(0, nul)).toString('utf8');
}

export function parseHeaderExtensions(buf: Buffer, h: ExtensionContext, src: { path: string; fileSize: number }): ParsedExtensions {
  const { path } = src;
  const limit = h.backingFile !== null ? h.backingFileOffset : h.clusterSize;
  const out: ParsedExtensions = { extensions: [], end: h.headerLength, backingFormat: null, externalDataFile: null };
  let at = h.headerLength;
  for (;;) {
    // An image whose extension area exactly fills the space has no end marker; qemu accepts that,
    // but not a few stray bytes too short to hold an extension header.
    if (at === limit) return { ...out, end: at };
    if (at + 8 > limit) {
      throw corrupt(path, `header extension at byte ${at} does not fit before byte ${limit} (${limit - at} bytes left, 8 needed)`, 'header_extensions');
    }
    if (at + 8 > buf.length) {
      throw truncated(path, `header extension at byte ${at} lies beyond the end of the file (${buf.length} bytes)`, 'header_extensions');
    }
    const magic = buf.readUInt32BE(at);
    const length = buf.readUInt32BE(at + 4);
    const dataStart = at + 8;
    // Checked before the end marker is recognised, as qemu does: an end marker with a length that
    // overruns the area is "Header extension too large" to qemu.
    if (dataStart + length > limit) {
      throw corrupt(path, `header extension 0x${magic.toString(16)} at byte ${at} (length ${length}) overruns the header area (ends at ${limit})`, 'header_extensions');
    }
    if (magic === HeaderExtensionType.END) return { ...out, end: at + 8 };
    if (dataStart + length > buf.length) {
      throw truncated(path, `header extension 0x${magic.toString(16)} at byte ${at} lies beyond the end of the file`, 'header_extensions');
    }
    // qemu refuses this one before even looking at its length.
    if (magic === HeaderExtensionType.FULL_DISK_ENCRYPTION && h.cryptMethod !== CRYPT_LUKS) {
      throw corrupt(path, `encryption header extension at byte ${at} in an image with crypt_method = ${h.cryptMethod} (only LUKS images have one)`, 'crypt_method');
    }
    const data = buf.subarray(dataStart, dataStart + length);
    const ext = decodeExtension(magic, at, data, path, out);
    checkExtension(ext, h, src);
    out.extensions.push(ext);
    at = dataStart + pad8(length);
  }
}

function decodeExtension(magic: number, offset: number, data: Buffer, path: string, out: ParsedExtensions): HeaderExtension {
  switch (magic) {
    case HeaderExtensionType.BACKING_FORMAT: {
      // qemu reads it into a 16-byte buffer and refuses anything that would not fit with its NUL.
      if (data.length >= 16) throw corrupt(path, `backing format header extension at byte ${offset} is ${data.length} bytes, at most 15 allowed`, 'header_extensions');
      const format = cString(data);
      out.backingFormat = format;
      return { type: 'backing-format', offset, format };
    }
    case HeaderExtensionType.FEATURE_NAME_TABLE: {
      const features: FeatureName[] = [];
      for (let i = 0; i + FEATURE_NAME_ENTRY_BYTES <= data.length; i += FEATURE_NAME_ENTRY_BYTES) {
        const kind = FEATURE_KINDS[data.readUInt8(i)] ?? 'unknown';
        features.push({ kind, bit: data.readUInt8(i + 1), name: cString(data.subarray(i + 2, i + FEATURE_NAME_ENTRY_BYTES)) });
      }
      return { type: 'feature-name-table', offset, features };
    }
    case HeaderExtensionType.EXTERNAL_DATA_FILE: {
      const name = cString(data);
      out.externalDataFile = name;
      return { type: 'external-data-file', offset, name };
    }
    case HeaderExtensionType.BITMAPS: {
      if (data.length !== 24) throw corrupt(path, `bitmaps header extension at byte ${offset} is ${data.length} bytes, expected 24`, 'header_extensions');
      return {
        type: 'bitmaps',
        offset,
        nbBitmaps: data.readUInt32BE(0),
        reserved: data.readUInt32BE(4),
        directorySize: data.readBigUInt64BE(8),
        directoryOffset: data.readBigUInt64BE(16),
      };
    }
    case HeaderExtensionType.FULL_DISK_ENCRYPTION: {
      if (data.length !== 16) throw corrupt(path, `encryption header extension at byte ${offset} is ${data.length} bytes, expected 16`, 'header_extensions');
      return { type: 'full-disk-encryption', offset, cryptoOffset: data.readBigUInt64BE(0), cryptoLength: data.readBigUInt64BE(8) };
    }
    default:
      return { type: 'unknown', offset, magic, length: data.length };
  }
}

/**
 * qemu's open-time rules for the bitmaps extension's values (qcow2_read_extensions). The
 * bitmap directory is judged only when the autoclear bitmaps bit is set: without
 * it qemu ignores the extension (the bitmaps count as stale), and so do we.
 */
function checkExtension(ext: HeaderExtension, h: ExtensionContext, src: { path: string; fileSize: number }): void {
  const { path } = src;
  if (ext.type !== 'bitmaps' || (h.autoclearFeatures & AutoclearFeature.BITMAPS) === 0n) return;
  const bad = (field: string, problem: string) => corrupt(path, `bitmaps header extension at byte ${ext.offset}: ${problem}`, field);
  if (ext.nbBitmaps === 0 || ext.nbBitmaps > MAX_BITMAPS) throw bad('nb_bitmaps', `nb_bitmaps = ${ext.nbBitmaps} out of range 1..${MAX_BITMAPS}`);
  if (ext.reserved !== 0) throw bad('header_extensions', `reserved field is ${ext.reserved}, must be 0`);
  const { directoryOffset: offset, directorySize: size } = ext;
  if (size === 0n || size > BigInt(MAX_BITMAP_DIRECTORY_BYTES)) throw bad('bitmap_directory_size', `bitmap_directory_size = ${size} out of range 1..${MAX_BITMAP_DIRECTORY_BYTES}`);
  if (offset % BigInt(h.clusterSize) !== 0n || offset === 0n) {
    throw bad('bitmap_directory_offset', `bitmap_directory_offset = ${offset} is not a cluster (of ${h.clusterSize} bytes) after the header`);
  }
  if (offset + size > BigInt(src.fileSize)) {
    throw bad('bitmap_directory_offset', `the bitmap directory at ${offset} (+${size} bytes) lies beyond the end of the file (${src.fileSize} bytes)`);
  }
}
