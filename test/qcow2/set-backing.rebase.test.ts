/** setBackingPath: rewrite the backing name/format in place, like qemu-img rebase -u. */
import { chmodSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { readBackingChain, readHeader, setBackingPath, writeCowChild } from '../../src/qcow2/index.js';
import { backingTarget } from '../../src/qcow2/set-backing.js';
import { qemuCheck, qemuCompare, qemuCreate, qemuInfo, qemuWrite, sha256 } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { expectImageError } from './helpers.js';

const tmp = useTmpDirs('fp-rebase-');

function baseWithChild(dir: string): { base: string; child: string } {
  const base = join(dir, 'base.qcow2');
  qemuCreate(base, { size: '8M' });
  qemuWrite(base, 0x21, 0, 65536);
  const child = join(dir, 'child.qcow2');
  writeCowChild(base, child);
  qemuWrite(child, 0x99, 1024 * 1024, 4096);
  return { base, child };
}

describe('setBackingPath', () => {
  it('re-points a child at a copy of its base; data and check stay clean', () => {
    const dir = tmp();
    const { base, child } = baseWithChild(dir);
    const copy = join(dir, 'a-much-longer-name-for-the-copy-of-the-base.qcow2');
    copyFileSync(base, copy);
    const before = join(dir, 'snapshot-of-child.qcow2');
    copyFileSync(child, before);
    setBackingPath(child, copy);
    expect(qemuInfo(child)['backing-filename']).toBe(copy);
    expect(qemuInfo(child)['backing-filename-format']).toBe('qcow2');
    expect(qemuCheck(child).status).toBe(0);
    expect(qemuCompare(child, before).status).toBe(0);
    // and back to a shorter name: stale bytes of the long one must not matter
    setBackingPath(child, base);
    expect(readHeader(child).header.backingFile).toBe(base);
    expect(qemuCheck(child).status).toBe(0);
  });

  it('keeps the other header extensions of a qemu-made image', () => {
    const dir = tmp();
    const base = join(dir, 'base.qcow2');
    qemuCreate(base, { size: '8M' });
    const child = join(dir, 'child.qcow2');
    qemuCreate(child, { backing: base, backingFormat: 'qcow2' });
    const types = readHeader(child).header.extensions.map((e) => e.type).sort();
    setBackingPath(child, 'base.qcow2');
    expect(readHeader(child).header.extensions.map((e) => e.type).sort()).toEqual(types);
    expect(qemuInfo(child)['backing-filename']).toBe('base.qcow2');
    expect(readBackingChain(child)[0]?.path).toBe(base);
  });

  it('switches the backing format to raw', () => {
    const dir = tmp();
    const raw = join(dir, 'disk.raw');
    writeFileSync(raw, Buffer.alloc(8 * 1024 * 1024));
    const { child } = baseWithChild(dir);
    setBackingPath(child, raw);
    expect(qemuInfo(child)['backing-filename-format']).toBe('raw');
    expect(qemuCheck(child).status).toBe(0);
  });

  it('refuses a new backing that would loop, changing nothing', () => {
    const dir = tmp();
    const { base, child } = baseWithChild(dir);
    chmodSync(base, 0o644);
    const before = sha256(base);
    expectImageError(() => setBackingPath(base, child), ErrorCodes.BACKING_LOOP, base);
    expect(sha256(base)).toBe(before);
  });

  it('re-points many images at one target checked once, and refuses a loop with it too', () => {
    const dir = tmp();
    const { base, child } = baseWithChild(dir);
    const copy = join(dir, 'copy.qcow2');
    copyFileSync(base, copy);
    const children = ['c1', 'c2', 'c3'].map((n) => writeCowChild(base, join(dir, `${n}.qcow2`)).path);
    const target = backingTarget(copy, 'qcow2');
    for (const c of [child, ...children]) setBackingPath(c, copy, { backingFormat: 'qcow2', target });
    for (const c of [child, ...children]) {
      expect(qemuInfo(c)['backing-filename']).toBe(copy);
      expect(qemuCheck(c).status).toBe(0);
    }
    for (const c of children) expect(qemuCompare(c, base).status).toBe(0);
    // The copy itself is in its target's chain: re-pointing it there is a loop, found through the open file.
    chmodSync(copy, 0o644);
    const before = sha256(copy);
    expectImageError(() => setBackingPath(copy, copy, { target }), ErrorCodes.BACKING_LOOP, copy);
    expect(sha256(copy)).toBe(before);
  });

  it('does not trust a target prepared for another file', () => {
    const dir = tmp();
    const { base, child } = baseWithChild(dir);
    const other = join(dir, 'other.qcow2');
    copyFileSync(base, other);
    setBackingPath(child, base, { target: backingTarget(other) });
    expect(qemuInfo(child)['backing-filename']).toBe(base);
    // nor one whose format differs from the one asked for
    const raw = join(dir, 'disk.raw');
    writeFileSync(raw, Buffer.alloc(8 * 1024 * 1024));
    setBackingPath(child, raw, { backingFormat: 'raw', target: { ...backingTarget(raw, 'raw'), format: 'qcow2' } });
    expect(qemuInfo(child)['backing-filename-format']).toBe('raw');
  });

  it('refuses a missing new backing file', () => {
    const dir = tmp();
    const { child } = baseWithChild(dir);
    const before = sha256(child);
    expectImageError(() => setBackingPath(child, join(dir, 'nope.qcow2')), ErrorCodes.NOT_FOUND, join(dir, 'nope.qcow2'));
    expect(sha256(child)).toBe(before);
  });

  it('refuses a name that does not fit the header cluster', () => {
    const dir = tmp();
    const base = join(dir, 'base.qcow2');
    qemuCreate(base, { size: '1M', clusterSize: 512 });
    const child = join(dir, 'child.qcow2');
    qemuCreate(child, { backing: base, backingFormat: 'qcow2', clusterSize: 512 });
    const longName = `${'./'.repeat(200)}base.qcow2`;
    const before = sha256(child);
    expectImageError(() => setBackingPath(child, longName), ErrorCodes.INVALID_ARGUMENT, child);
    expect(sha256(child)).toBe(before);
  });

  it('refuses to rewrite a read-only (base) image', () => {
    const dir = tmp();
    const { base, child } = baseWithChild(dir);
    chmodSync(child, 0o444);
    expectImageError(() => setBackingPath(child, base), ErrorCodes.INVALID_ARGUMENT, child);
  });
});
