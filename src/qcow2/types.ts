/** The shapes the qcow2 engine hands out. Plain data: they cross worker threads as is. */

export type ImageFormat = 'qcow2' | 'raw';

/** A header extension we parsed; unknown types are kept (qemu ignores them too). */
export type HeaderExtension =
  | { type: 'backing-format'; offset: number; format: string }
  | { type: 'feature-name-table'; offset: number; features: FeatureName[] }
  | { type: 'external-data-file'; offset: number; name: string }
  | { type: 'bitmaps'; offset: number; nbBitmaps: number; reserved: number; directorySize: bigint; directoryOffset: bigint }
  | { type: 'full-disk-encryption'; offset: number; cryptoOffset: bigint; cryptoLength: bigint }
  | { type: 'unknown'; offset: number; magic: number; length: number };

export interface FeatureName {
  kind: 'incompatible' | 'compatible' | 'autoclear' | 'unknown';
  bit: number;
  name: string;
}

/** Every field of a qcow2 header (v2 images get the v3 defaults for v3-only fields). */
export interface Qcow2Header {
  version: 2 | 3;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  clusterSize: number;
  /** Virtual disk size in bytes, as qemu uses it: the header field rounded down to whole 512-byte sectors. */
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatibleFeatures: bigint;
  compatibleFeatures: bigint;
  autoclearFeatures: bigint;
  refcountOrder: number;
  headerLength: number;
  /** 0 = zlib, 1 = zstd. */
  compressionType: number;
  extensions: HeaderExtension[];
  /** Byte offset where the extension area ends (the end marker's end). */
  extensionsEnd: number;
  /** The backing file name exactly as stored (qemu-img's "backing-filename"), or null. */
  backingFile: string | null;
  /** The backing format extension's value, or null when the image does not record one. */
  backingFormat: string | null;
}

/** readHeader's answer: the header plus the facts about the file it came from. */
export interface ImageHeaderInfo {
  path: string;
  fileSize: number;
  header: Qcow2Header;
}

/** One link of a backing chain (the image itself is not part of its chain). */
export interface BackingChainEntry {
  /** Absolute path, resolved the way qemu resolves it (relative to the referring image's folder). */
  path: string;
  format: ImageFormat;
  virtualSize?: number;
  /** The name as the referring image stores it. */
  storedName: string;
}

export interface BackingFilePath {
  /** As stored in the header. */
  stored: string;
  /** Absolute, resolved against the image's folder when stored relative. */
  resolved: string;
  format: string | null;
}

export interface WriteChildOptions {
  /** fsync the child and its folder (default true). */
  fsync?: boolean;
  /** Force a backing format instead of probing the parent. */
  backingFormat?: ImageFormat;
  /** The new file's mode (default 0600: private to its owner). */
  mode?: number;
}

export interface CowChildResult {
  path: string;
  backingPath: string;
  backingFormat: ImageFormat;
  virtualSize: number;
  clusterSize: number;
  fileLength: number;
}

export interface ForkResult {
  /** Where the original disk now lives (canonical). */
  basePath: string;
  /** The COW child now at the source path. */
  childPath: string;
  /** Virtual size of the disk. */
  containerDiskBytes: number;
  /** Bytes the base file occupies on disk (st_blocks * 512). */
  sizeBytes: number;
  /** The base's backing files, nearest first, as the fork's check walked them (callers need not walk them again). */
  backingChain: string[];
}
