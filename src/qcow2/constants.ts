/**
 * Numbers fixed by the qcow2 format (QEMU docs/interop/qcow2.txt) and by the
 * limits QEMU itself enforces when it opens an image. Keeping our limits equal
 * to QEMU's means we refuse exactly what qemu-img would refuse.
 */

/** "QFI\xfb": the first four bytes of every qcow2 file. */
export const QCOW2_MAGIC = 0x514649fb;

/** Deepest backing chain we follow or create (DESIGN: depth is capped at 8). */
export const MAX_CHAIN_DEPTH = 8;

/** Byte length of the v2 header; v3 headers are at least V3_MIN_HEADER_LENGTH. */
export const V2_HEADER_LENGTH = 72;
export const V3_MIN_HEADER_LENGTH = 104;
/** What we (and qemu since 5.0) write: 104 + compression_type byte + 7 bytes padding. */
export const V3_HEADER_LENGTH = 112;

/** QEMU's MIN_CLUSTER_BITS / MAX_CLUSTER_BITS: 512 B .. 2 MiB clusters. */
export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;

/** QEMU refuses backing file names longer than this (1023 bytes + NUL in its buffer). */
export const MAX_BACKING_FILE_NAME = 1023;
/** QEMU's QCOW_MAX_L1_SIZE and QCOW_MAX_REFTABLE_SIZE (bytes). */
export const MAX_L1_TABLE_BYTES = 32 * 1024 * 1024;
export const MAX_REFCOUNT_TABLE_BYTES = 8 * 1024 * 1024;
/** QEMU's QCOW_MAX_SNAPSHOTS. */
export const MAX_SNAPSHOTS = 65536;
/** refcount_order is log2 of refcount bits: 0 (1 bit) .. 6 (64 bits). */
export const MAX_REFCOUNT_ORDER = 6;

/** Incompatible feature bits: an implementation must refuse an image with a bit it does not know. */
export const IncompatibleFeature = {
  DIRTY: 1n << 0n,
  CORRUPT: 1n << 1n,
  EXTERNAL_DATA_FILE: 1n << 2n,
  COMPRESSION_TYPE: 1n << 3n,
  EXTENDED_L2: 1n << 4n,
} as const;

/**
 * Bits we can read safely. Dirty only means refcounts may be stale (we never
 * write a parent, and our children have their own refcounts); a non-zlib
 * compression type and extended L2 entries change how data clusters are read,
 * which the chain reader handles (compressed clusters are refused there).
 * Corrupt and external data are deliberately absent: we refuse them.
 */
export const READABLE_INCOMPATIBLE_FEATURES =
  IncompatibleFeature.DIRTY | IncompatibleFeature.COMPRESSION_TYPE | IncompatibleFeature.EXTENDED_L2;

export const CompatibleFeature = { LAZY_REFCOUNTS: 1n << 0n } as const;
export const AutoclearFeature = { BITMAPS: 1n << 0n, RAW_EXTERNAL_DATA: 1n << 1n } as const;

/** Header extension type codes. */
export const HeaderExtensionType = {
  END: 0x00000000,
  BACKING_FORMAT: 0xe2792aca,
  FEATURE_NAME_TABLE: 0x6803f857,
  EXTERNAL_DATA_FILE: 0x44415441,
  BITMAPS: 0x23852875,
  FULL_DISK_ENCRYPTION: 0x0537be77,
} as const;

/** Size of one feature name table entry: type (1), bit (1), name (46, NUL padded). */
export const FEATURE_NAME_ENTRY_BYTES = 48;

/** L1 / L2 entry bits (standard L2 entries; extended L2 adds a 64-bit subcluster bitmap). */
export const L1_OFFSET_MASK = 0x00fffffffffffe00n;
export const L2_OFFSET_MASK = 0x00fffffffffffe00n;
export const L2_COMPRESSED = 1n << 62n;
export const L2_ZERO_FLAG = 1n;
/** L1 and L2 entries: the cluster is used only here (refcount 1), so qemu writes it in place (QCOW_OFLAG_COPIED). */
export const COPIED_FLAG = 1n << 63n;
/** A refcount table entry's block offset (qemu's REFT_OFFSET_MASK), and a bitmap table entry's cluster (BME_TABLE_ENTRY_OFFSET_MASK). */
export const REFT_OFFSET_MASK = 0xfffffffffffffe00n;
export const BME_TABLE_OFFSET_MASK = 0x00fffffffffffe00n;
/**
 * Bits that must be 0 (qemu's L1E_RESERVED_MASK, L2E_STD_RESERVED_MASK): qemu-img check reports an
 * entry with any of them set as corruption. Bit 0 of an L2 entry is the zero flag, or ignored with extended L2.
 */
export const L1_RESERVED_MASK = 0x7f000000000001ffn;
export const L2_RESERVED_MASK = 0x3f000000000001fen;
/** Extended L2 images split every cluster into 32 subclusters. */
export const SUBCLUSTERS_PER_CLUSTER = 32;

/** What our children use (DESIGN "Child files"). */
export const CHILD_DEFAULT_CLUSTER_BITS = 16;
export const CHILD_REFCOUNT_ORDER = 4;

/** qcow2 virtual sizes are whole 512-byte sectors. */
export const SECTOR_SIZE = 512;
