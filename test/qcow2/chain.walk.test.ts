/** readBackingChain: nearest first, resolved like qemu, guarded against loops and depth. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { MAX_CHAIN_DEPTH, readBackingChain } from '../../src/qcow2/index.js';
import { qemuCreate, qemuInfoChain, sha256 } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { expectImageError, qemuRebaseUnsafe } from './helpers.js';

const tmp = useTmpDirs('fp-chain-');

/** base ← l1 ← … ← l<depth>, absolute backing names; returns all paths, base first. */
function makeChain(dir: string, depth: number): string[] {
  const paths = [join(dir, 'base.qcow2')];
  qemuCreate(paths[0]!, { size: '4M' });
  for (let i = 1; i <= depth; i++) {
    paths.push(join(dir, `l${i}.qcow2`));
    qemuCreate(paths[i]!, { backing: paths[i - 1]!, backingFormat: 'qcow2' });
  }
  return paths;
}

describe('readBackingChain', () => {
  it('lists a 3-deep chain nearest first, as qemu-img info --backing-chain does', () => {
    const p = makeChain(tmp(), 3);
    const top = p[3]!;
    const chain = readBackingChain(top);
    expect(chain.map((c) => c.path)).toEqual([p[2], p[1], p[0]]);
    expect(chain.every((c) => c.format === 'qcow2' && c.virtualSize === 4 * 1024 * 1024)).toBe(true);
    expect(qemuInfoChain(top).slice(1).map((i) => i.filename)).toEqual(chain.map((c) => c.path));
  });

  it('resolves a relative backing name against the image folder, not the cwd', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'sub'));
    qemuCreate(join(dir, 'sub', 'base.qcow2'), { size: '1M' });
    qemuCreate(join(dir, 'sub', 'child.qcow2'), { backing: 'base.qcow2', backingFormat: 'qcow2' });
    const chain = readBackingChain(join(dir, 'sub', 'child.qcow2'));
    expect(chain).toEqual([{ path: join(dir, 'sub', 'base.qcow2'), format: 'qcow2', virtualSize: 1024 * 1024, storedName: 'base.qcow2' }]);
  });

  it('ends at a raw backing file without error', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'rootfs.ext4'), Buffer.alloc(1024 * 1024, 7));
    qemuCreate(join(dir, 'child.qcow2'), { backing: join(dir, 'rootfs.ext4'), backingFormat: 'raw' });
    expect(readBackingChain(join(dir, 'child.qcow2'))).toEqual([
      { path: join(dir, 'rootfs.ext4'), format: 'raw', virtualSize: 1024 * 1024, storedName: join(dir, 'rootfs.ext4') },
    ]);
  });

  it('returns [] for a standalone image', () => {
    const p = makeChain(tmp(), 0);
    expect(readBackingChain(p[0]!)).toEqual([]);
  });

  it('refuses a loop A → B → A, naming the files, without changing them', () => {
    const dir = tmp();
    const a = join(dir, 'a.qcow2');
    const b = join(dir, 'b.qcow2');
    qemuCreate(a, { size: '1M' });
    qemuCreate(b, { backing: a, backingFormat: 'qcow2' });
    qemuRebaseUnsafe(a, b);
    const before = [sha256(a), sha256(b)];
    const err = expectImageError(() => readBackingChain(a), ErrorCodes.BACKING_LOOP, a);
    expect(err.message).toContain(b);
    expect([sha256(a), sha256(b)]).toEqual(before);
  });

  it('refuses an image that is its own backing file', () => {
    const a = join(tmp(), 'a.qcow2');
    qemuCreate(a, { size: '1M' });
    qemuRebaseUnsafe(a, a);
    expectImageError(() => readBackingChain(a), ErrorCodes.BACKING_LOOP, a);
  });

  it(`accepts ${MAX_CHAIN_DEPTH} backing files and refuses ${MAX_CHAIN_DEPTH + 1}`, () => {
    const p = makeChain(tmp(), MAX_CHAIN_DEPTH + 1);
    expect(readBackingChain(p[MAX_CHAIN_DEPTH]!)).toHaveLength(MAX_CHAIN_DEPTH);
    expectImageError(() => readBackingChain(p[MAX_CHAIN_DEPTH + 1]!), ErrorCodes.CHAIN_TOO_DEEP, p[MAX_CHAIN_DEPTH + 1]!);
  });

  it('names both files when a backing file is missing', () => {
    const p = makeChain(tmp(), 2);
    renameSync(p[0]!, `${p[0]}.gone`);
    const err = expectImageError(() => readBackingChain(p[2]!), ErrorCodes.NOT_FOUND, p[1]!);
    expect(err.message).toContain(p[0]!);
  });

  it('reports a corrupt backing file by its own name', () => {
    const dir = tmp();
    const p = makeChain(dir, 1);
    writeFileSync(p[0]!, Buffer.from('QFI\xfb\0\0\0\x03', 'latin1'));
    expectImageError(() => readBackingChain(p[1]!), ErrorCodes.QCOW2_TRUNCATED, p[0]!);
  });
});
