/** Our header parser must see what qemu-img sees, for every shape qemu-img makes. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHeader, readBackingFilePath } from '../../src/qcow2/index.js';
import { qemuCreate, qemuInfo } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { PARENT_SHAPES } from './helpers.js';

const tmp = useTmpDirs('fp-hdr-');

describe('readHeader agrees with qemu-img info', () => {
  it.each(PARENT_SHAPES)('$name', ({ opts }) => {
    const file = join(tmp(), 'img.qcow2');
    qemuCreate(file, { ...opts, size: '3G' });
    const q = qemuInfo(file);
    const { header } = readHeader(file);
    expect(header.size).toBe(q['virtual-size']);
    expect(header.clusterSize).toBe(q['cluster-size']);
    expect(header.version === 2 ? '0.10' : '1.1').toBe(q['format-specific']?.data.compat);
    expect(2 ** header.refcountOrder).toBe(q['format-specific']?.data['refcount-bits']);
    if (header.version === 3) {
      expect((header.compatibleFeatures & 1n) === 1n).toBe(q['format-specific']?.data['lazy-refcounts']);
      expect((header.incompatibleFeatures & 16n) === 16n).toBe(q['format-specific']?.data['extended-l2']);
    }
    expect(header.backingFile).toBeNull();
  });

  it('reads the backing name and format extension as stored, in v2 and v3', () => {
    const dir = tmp();
    qemuCreate(join(dir, 'base.qcow2'), { size: '1M' });
    for (const compat of ['0.10', '1.1'] as const) {
      const child = join(dir, `child-${compat}.qcow2`);
      qemuCreate(child, { compat, backing: 'base.qcow2', backingFormat: 'qcow2' });
      const q = qemuInfo(child);
      const { header } = readHeader(child);
      expect(header.backingFile).toBe(q['backing-filename']);
      expect(header.backingFormat).toBe(q['backing-filename-format']);
      expect(readBackingFilePath(child)).toEqual({ stored: 'base.qcow2', resolved: join(dir, 'base.qcow2'), format: 'qcow2' });
    }
  });

  it('lists the feature name table qemu writes into v3 headers', () => {
    const file = join(tmp(), 'img.qcow2');
    qemuCreate(file, { size: '1M' });
    const { header } = readHeader(file);
    const table = header.extensions.find((e) => e.type === 'feature-name-table');
    expect(table?.type === 'feature-name-table' && table.features.map((f) => f.name)).toContain('corrupt bit');
  });

  it('returns null for an image without a backing file', () => {
    const file = join(tmp(), 'img.qcow2');
    qemuCreate(file, { size: '1M' });
    expect(readBackingFilePath(file)).toBeNull();
  });
});
