/**
 * L2 entries qemu refuses to read (an allocated subcluster with no host
 * offset, both allocated and zero, an unaligned data offset) make flatten fail
 * with a typed error and leave no output, instead of copying garbage.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flatten, readHeader } from '../../src/qcow2/index.js';
import { qemuCreate, qemuWrite } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { patchBytes } from './helpers.js';

const tmp = useTmpDirs('fp-badl2-');

function u64At(path: string, offset: number): bigint {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(8);
    readSync(fd, b, 0, 8, offset);
    return b.readBigUInt64BE(0);
  } finally {
    closeSync(fd);
  }
}

/** An extended-L2 image with data in the first subcluster; returns it and its first L2 entry's offset. */
function imageWithData(): { file: string; entryAt: number } {
  const file = join(tmp(), 'x.qcow2');
  qemuCreate(file, { size: '4M', extendedL2: true });
  qemuWrite(file, 0x5a, 0, 4096);
  const l1 = readHeader(file).header.l1TableOffset;
  const l2 = Number(u64At(file, l1) & 0x00fffffffffffe00n);
  return { file, entryAt: l2 };
}

const be64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};

describe('flatten refuses L2 entries qemu refuses', () => {
  const cases: [string, (file: string, at: number) => void][] = [
    ['an allocated subcluster with host offset 0', (f, at) => patchBytes(f, at, be64(0n))],
    ['a subcluster both allocated and zero', (f, at) => patchBytes(f, at + 8, be64((1n << 32n) | 1n))],
    ['an unaligned data offset', (f, at) => patchBytes(f, at, be64((u64At(f, at) & 0x00fffffffffffe00n) + 512n))],
  ];
  for (const [what, damage] of cases) {
    it(what, () => {
      const { file, entryAt } = imageWithData();
      damage(file, entryAt);
      const dest = join(tmp(), 'flat.qcow2');
      expect(() => flatten(file, dest, { fsync: false })).toThrow(expect.objectContaining({ code: 'E_QCOW2_CORRUPT', message: expect.stringContaining(file) }));
      expect(existsSync(dest)).toBe(false);
    });
  }
});
