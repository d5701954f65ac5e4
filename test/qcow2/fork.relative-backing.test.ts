/**
 * A relative backing name resolves from the image's own folder, which a fork
 * changes: such a fork is refused (nothing moved) unless the name resolves to
 * the same file from both folders. Names qemu reads as protocols are refused.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forkQcow2, readBackingChain, setBackingPath } from '../../src/qcow2/index.js';
import { qemuCheck, qemuCreate, sha256 } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-relfork-');

describe('fork of an image with a relative backing name', () => {
  it('is refused when the name would point elsewhere from bases/, and nothing moves', () => {
    const root = tmp();
    for (const d of ['bases', 'boxes/b/disks']) mkdirSync(join(root, d), { recursive: true });
    qemuCreate(join(root, 'bases', 'root.qcow2'), { size: '1M' });
    const disk = join(root, 'boxes/b/disks/container.qcow2');
    qemuCreate(disk, { backing: '../../../bases/root.qcow2', backingFormat: 'qcow2' });
    const before = sha256(disk);
    expect(() => forkQcow2(disk, join(root, 'bases', 'fork1.qcow2'), { fsync: false })).toThrow(
      expect.objectContaining({ code: 'E_QCOW2_UNSUPPORTED', message: expect.stringContaining('relative') }),
    );
    expect(sha256(disk)).toBe(before);
    expect(qemuCheck(disk).status).toBe(0);
  });

  it('goes ahead when the name resolves to the same file from both folders', () => {
    const root = tmp();
    qemuCreate(join(root, 'root.qcow2'), { size: '1M' });
    const disk = join(root, 'disk.qcow2');
    qemuCreate(disk, { backing: 'root.qcow2', backingFormat: 'qcow2' });
    const forked = forkQcow2(disk, join(root, 'base.qcow2'), { fsync: false });
    expect(readBackingChain(disk).map((l) => l.path)).toEqual([forked.basePath, join(root, 'root.qcow2')]);
    expect(qemuCheck(disk).status).toBe(0);
  });
});

describe('backing names qemu reads as protocols', () => {
  it('are refused, including a plain file name whose first ":" comes before any "/"', () => {
    const root = tmp();
    qemuCreate(join(root, 'base.qcow2'), { size: '1M' });
    const child = join(root, 'child.qcow2');
    qemuCreate(child, { backing: join(root, 'base.qcow2'), backingFormat: 'qcow2' });
    for (const name of ['my_base:v1.qcow2', 'file:base.qcow2', 'nbd://host/x']) {
      expect(() => setBackingPath(child, name, { backingFormat: 'qcow2' }), name).toThrow(expect.objectContaining({ code: 'E_QCOW2_UNSUPPORTED' }));
    }
    expect(readBackingChain(child).map((l) => l.path)).toEqual([join(root, 'base.qcow2')]);
  });
});
