/** flatten: one standalone image with the chain's data, judged by qemu-img. */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { flatten, readHeader, writeCowChild } from '../../src/qcow2/index.js';
import { qemuCheck, qemuCompare, qemuCreate, qemuInfo, qemuWrite } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { expectImageError, qemuIo } from './helpers.js';

const tmp = useTmpDirs('fp-flat-');

function expectFlattenedEqual(top: string, flat: string): void {
  const check = qemuCheck(flat);
  expect(check.status, check.output).toBe(0);
  const cmp = qemuCompare(flat, top);
  expect(cmp.status, cmp.output).toBe(0);
  expect(qemuInfo(flat)['backing-filename']).toBeUndefined();
  expect(readHeader(flat).header.backingFile).toBeNull();
}

describe('flatten', () => {
  it('collapses a 3-deep chain with overlapping writes and zeroed clusters', () => {
    const dir = tmp();
    const base = join(dir, 'base.qcow2');
    qemuCreate(base, { size: '20M', clusterSize: 4096 });
    qemuWrite(base, 0x01, 0, 1024 * 1024);
    const mid = join(dir, 'mid.qcow2');
    writeCowChild(base, mid);
    qemuWrite(mid, 0x02, 512 * 1024, 1024 * 1024);
    qemuIo(mid, 'write -z 0 65536'); // zero flag hides the base's data
    const top = join(dir, 'top.qcow2');
    writeCowChild(mid, top);
    qemuWrite(top, 0x03, 19 * 1024 * 1024, 5000);
    const flat = join(dir, 'flat.qcow2');
    const r = flatten(top, flat);
    expect(r.virtualSize).toBe(20 * 1024 * 1024);
    expectFlattenedEqual(top, flat);
    expect(qemuIo(flat, 'read -P 0 0 65536')).not.toContain('failed');
  });

  it('reads through a raw base whose size is not a whole cluster', () => {
    const dir = tmp();
    const raw = join(dir, 'rootfs.ext4');
    const bytes = Buffer.alloc(1024 * 1024 + 4096);
    for (let i = 0; i < bytes.length; i += 512) bytes[i] = (i / 512) & 0xff;
    writeFileSync(raw, bytes);
    const child = join(dir, 'child.qcow2');
    writeCowChild(raw, child);
    qemuWrite(child, 0xee, 8192, 512);
    const flat = join(dir, 'flat.qcow2');
    flatten(child, flat);
    expectFlattenedEqual(child, flat);
  });

  it('handles extended L2 subclusters', () => {
    const dir = tmp();
    const base = join(dir, 'base.qcow2');
    qemuCreate(base, { size: '8M' });
    qemuWrite(base, 0x44, 0, 262144);
    const top = join(dir, 'top.qcow2');
    qemuCreate(top, { backing: base, backingFormat: 'qcow2', extendedL2: true });
    qemuWrite(top, 0x55, 4096, 2048); // one subcluster of 2 KiB in a 64 KiB cluster
    qemuIo(top, 'write -z 131072 2048');
    const flat = join(dir, 'flat.qcow2');
    flatten(top, flat);
    expectFlattenedEqual(top, flat);
  });

  it('flattens a standalone image with 2 MiB clusters', () => {
    const dir = tmp();
    const img = join(dir, 'img.qcow2');
    qemuCreate(img, { size: '10M', clusterSize: 2 * 1024 * 1024 });
    qemuWrite(img, 0x66, 3 * 1024 * 1024, 4096);
    const flat = join(dir, 'flat.qcow2');
    flatten(img, flat);
    expectFlattenedEqual(img, flat);
  });

  it('refuses compressed clusters clearly and leaves no partial file', () => {
    const dir = tmp();
    const src = join(dir, 'src.qcow2');
    qemuCreate(src, { size: '4M' });
    qemuWrite(src, 0x77, 0, 131072);
    const packed = join(dir, 'packed.qcow2');
    execFileSync('qemu-img', ['convert', '-c', '-O', 'qcow2', src, packed]);
    const flat = join(dir, 'flat.qcow2');
    expectImageError(() => flatten(packed, flat), ErrorCodes.QCOW2_UNSUPPORTED, packed);
    expect(existsSync(flat)).toBe(false);
  });

  it('refuses an existing destination', () => {
    const dir = tmp();
    const img = join(dir, 'img.qcow2');
    qemuCreate(img, { size: '1M' });
    writeFileSync(join(dir, 'flat.qcow2'), 'x');
    expectImageError(() => flatten(img, join(dir, 'flat.qcow2')), ErrorCodes.ALREADY_EXISTS, join(dir, 'flat.qcow2'));
  });
});
