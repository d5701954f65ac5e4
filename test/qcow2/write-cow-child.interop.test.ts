/**
 * Every child we write must be real qcow2 to qemu: check clean, identical to
 * its base, guest writes land in the child only, and the chain is what we say.
 */
import { chmodSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { readHeader, writeCowChild } from '../../src/qcow2/index.js';
import { qemuCheck, qemuCompare, qemuCreate, qemuInfo, qemuInfoChain, qemuWrite, sha256, type CreateOptions } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { expectImageError, PARENT_SHAPES, qemuIo } from './helpers.js';

const tmp = useTmpDirs('fp-child-');

/** The four interop judgements, for a child just written over `base`. */
function expectValidChildOf(child: string, base: string, baseFormat = 'qcow2'): void {
  const check = qemuCheck(child);
  expect(check.status, check.output).toBe(0);
  expect(check.output).toContain('No errors were found');
  const cmp = qemuCompare(child, base);
  expect(cmp.status, cmp.output).toBe(0);
  const info = qemuInfoChain(child);
  expect(info[0]?.['backing-filename']).toBe(base);
  expect(info[0]?.['backing-filename-format']).toBe(baseFormat);
  expect(info[1]?.filename).toBe(base);
  // A guest write to the child never reaches the base.
  const baseSha = sha256(base);
  qemuWrite(child, 0xcd, 0, 4096);
  expect(sha256(base)).toBe(baseSha);
  expect(qemuIo(child, 'read -P 0xcd 0 4096')).not.toContain('Pattern verification failed');
  expect(qemuCompare(child, base).status).toBe(1);
  expect(qemuCheck(child).status).toBe(0);
}

function makeBase(dir: string, opts: CreateOptions, data = true): string {
  const base = join(dir, 'base.qcow2');
  qemuCreate(base, { size: '64M', ...opts });
  if (data) {
    qemuWrite(base, 0xab, 0, 65536);
    qemuWrite(base, 0x5a, 3 * 1024 * 1024 + 512, 8192);
  }
  return base;
}

describe('writeCowChild over every parent shape qemu-img can make', () => {
  it.each(PARENT_SHAPES)('$name', ({ opts }) => {
    const dir = tmp();
    const base = makeBase(dir, opts);
    const child = join(dir, 'child.qcow2');
    const r = writeCowChild(base, child);
    expect(r.virtualSize).toBe(64 * 1024 * 1024);
    const info = qemuInfo(child);
    expect(info['format-specific']?.data.compat).toBe('1.1');
    expect(info['format-specific']?.data['refcount-bits']).toBe(16);
    expect(info['cluster-size']).toBe(opts.clusterSize ?? 65536);
    expectValidChildOf(child, base);
  });
});

describe('writeCowChild', () => {
  it('writes an empty base\'s child too', () => {
    const dir = tmp();
    const base = makeBase(dir, {}, false);
    writeCowChild(base, join(dir, 'child.qcow2'), { fsync: false });
    expectValidChildOf(join(dir, 'child.qcow2'), base);
  });

  it('spans several L1 clusters for a huge disk with small clusters', () => {
    const dir = tmp();
    const base = join(dir, 'base.qcow2');
    qemuCreate(base, { size: '4T', clusterSize: 4096 }); // L1: 4T / (4K * 512) = 2M entries... over 1 cluster for sure
    const child = join(dir, 'child.qcow2');
    writeCowChild(base, child);
    const h = readHeader(child).header;
    expect(h.l1Size * 8).toBeGreaterThan(h.clusterSize);
    expect(qemuCheck(child).status).toBe(0);
    qemuWrite(child, 0xcd, 4 * 1024 ** 4 - 8192, 4096); // the last L2 range
    expect(qemuCheck(child).status).toBe(0);
  });

  it('is sparse: a few KiB allocated, not the whole metadata area', () => {
    const dir = tmp();
    const base = makeBase(dir, {});
    const child = join(dir, 'child.qcow2');
    const r = writeCowChild(base, child);
    expect(statSync(child).size).toBe(r.fileLength);
    expect(statSync(child).blocks * 512).toBeLessThan(64 * 1024);
  });

  it('stores the absolute canonical base path even when given a symlink and a relative path', () => {
    const dir = tmp();
    const base = makeBase(dir, {});
    symlinkSync(base, join(dir, 'link.qcow2'));
    const child = join(dir, 'child.qcow2');
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      writeCowChild('link.qcow2', 'child.qcow2');
    } finally {
      process.chdir(cwd);
    }
    expect(readHeader(child).header.backingFile).toBe(base);
    expectValidChildOf(child, base);
  });

  it('builds on a relative-backing parent (a 3-deep chain stays correct)', () => {
    const dir = tmp();
    const base = makeBase(dir, {});
    const mid = join(dir, 'mid.qcow2');
    qemuCreate(mid, { backing: 'base.qcow2', backingFormat: 'qcow2' });
    qemuWrite(mid, 0x11, 65536, 4096);
    const child = join(dir, 'child.qcow2');
    writeCowChild(mid, child);
    expect(qemuInfoChain(child).map((i) => i.filename)).toEqual([child, mid, base]);
    expectValidChildOf(child, mid);
  });

  it('takes a raw parent (the rootfs cache): backing format raw, size = file size', () => {
    const dir = tmp();
    const raw = join(dir, 'rootfs.ext4');
    const bytes = Buffer.alloc(3 * 1024 * 1024);
    bytes.fill(0x42, 4096, 20000);
    writeFileSync(raw, bytes);
    const child = join(dir, 'child.qcow2');
    const r = writeCowChild(raw, child);
    expect(r).toMatchObject({ backingFormat: 'raw', virtualSize: 3 * 1024 * 1024, clusterSize: 65536 });
    expectValidChildOf(child, raw, 'raw');
  });

  it('refuses an existing child path and leaves it untouched', () => {
    const dir = tmp();
    const base = makeBase(dir, {});
    const child = join(dir, 'child.qcow2');
    writeFileSync(child, 'precious');
    expectImageError(() => writeCowChild(base, child), ErrorCodes.ALREADY_EXISTS, child);
    expect(readFileSync(child, 'utf8')).toBe('precious');
  });

  it('refuses a bad base and creates nothing', () => {
    const dir = tmp();
    const base = join(dir, 'base.qcow2');
    writeFileSync(base, Buffer.from('QFI\xfb\0\0\0\x09', 'latin1'));
    const child = join(dir, 'child.qcow2');
    expectImageError(() => writeCowChild(base, child), ErrorCodes.QCOW2_UNSUPPORTED, base);
    expect(() => statSync(child)).toThrow();
  });

  it('reads a 0444 base (children only ever read it)', () => {
    const dir = tmp();
    const base = makeBase(dir, {});
    chmodSync(base, 0o444);
    writeCowChild(base, join(dir, 'child.qcow2'));
    expectValidChildOf(join(dir, 'child.qcow2'), base);
  });
});
