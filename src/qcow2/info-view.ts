/**
 * Pure: present a parsed header the way `qemu-img info --output=json` does,
 * so scripts can switch between the two. Key names and values follow
 * qemu-img; `backing-chain` and `header` are ours.
 */
import { CompatibleFeature, IncompatibleFeature } from './constants.js';
import { resolveBackingPath } from './backing-path.js';
import type { BackingChainEntry, Qcow2Header } from './types.js';

export interface QemuStyleInfo {
  filename: string;
  format: 'qcow2';
  'virtual-size': number;
  'cluster-size': number;
  'actual-size'?: number;
  'dirty-flag': boolean;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  'backing-filename-format'?: string;
  'format-specific': { type: 'qcow2'; data: Record<string, unknown> & { compat: '0.10' | '1.1' } };
  'backing-chain'?: BackingChainEntry[];
}

export function qemuStyleInfo(filename: string, h: Qcow2Header, extra: { actualSize?: number; chain?: BackingChainEntry[] } = {}): QemuStyleInfo {
  const data: QemuStyleInfo['format-specific']['data'] =
    h.version === 2
      ? { compat: '0.10', 'compression-type': 'zlib', 'refcount-bits': 2 ** h.refcountOrder }
      : {
          compat: '1.1',
          'compression-type': h.compressionType === 1 ? 'zstd' : 'zlib',
          'lazy-refcounts': (h.compatibleFeatures & CompatibleFeature.LAZY_REFCOUNTS) !== 0n,
          'refcount-bits': 2 ** h.refcountOrder,
          corrupt: (h.incompatibleFeatures & IncompatibleFeature.CORRUPT) !== 0n,
          'extended-l2': (h.incompatibleFeatures & IncompatibleFeature.EXTENDED_L2) !== 0n,
        };
  const info: QemuStyleInfo = {
    filename,
    format: 'qcow2',
    'virtual-size': h.size,
    'cluster-size': h.clusterSize,
    'dirty-flag': (h.incompatibleFeatures & IncompatibleFeature.DIRTY) !== 0n,
    'format-specific': { type: 'qcow2', data },
  };
  if (extra.actualSize !== undefined) info['actual-size'] = extra.actualSize;
  if (h.backingFile !== null) {
    info['backing-filename'] = h.backingFile;
    info['full-backing-filename'] = resolveBackingPath(filename, h.backingFile);
    if (h.backingFormat !== null) info['backing-filename-format'] = h.backingFormat;
  }
  if (extra.chain) info['backing-chain'] = extra.chain;
  return info;
}
