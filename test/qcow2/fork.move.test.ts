/** forkQcow2: move + child + 0400 (0600 child), or nothing at all. */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { armFault, disarmFaults } from '../../src/faults.js';
import { forkQcow2, readBackingChain } from '../../src/qcow2/index.js';
import { qemuCheck, qemuCompare, qemuCreate, qemuInfo, qemuWrite, sha256 } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { expectImageError } from './helpers.js';

const tmp = useTmpDirs('fp-fork-');
afterEach(() => disarmFaults());

function boxDisk(dir: string): string {
  mkdirSync(join(dir, 'box', 'disks'), { recursive: true });
  mkdirSync(join(dir, 'bases'));
  const disk = join(dir, 'box', 'disks', 'container.qcow2');
  qemuCreate(disk, { size: '32M' });
  qemuWrite(disk, 0x3c, 1024 * 1024, 262144);
  return disk;
}

describe('forkQcow2', () => {
  it.each([true, false])('moves the disk to a 0400 base and leaves a valid 0600 child (fsync %s)', (fsync) => {
    const dir = tmp();
    const disk = boxDisk(dir);
    const original = sha256(disk);
    const dest = join(dir, 'bases', 'Ab12Cd34.qcow2');
    const r = forkQcow2(disk, dest, { fsync });
    expect(r.basePath).toBe(dest);
    expect(r.containerDiskBytes).toBe(32 * 1024 * 1024);
    expect(r.sizeBytes).toBe(statSync(dest).blocks * 512);
    expect(r.sizeBytes).toBeGreaterThan(256 * 1024);
    expect(sha256(dest)).toBe(original);
    expect(statSync(dest).mode & 0o777).toBe(0o400);
    expect(statSync(disk).mode & 0o777).toBe(0o600);
    expect(qemuCheck(disk).status).toBe(0);
    expect(qemuCompare(disk, dest).status).toBe(0);
    expect(qemuInfo(disk)['backing-filename']).toBe(dest);
    expect(readBackingChain(disk).map((c) => c.path)).toEqual([dest]);
  });

  it('nests: forking the same box twice gives a 2-deep chain', () => {
    const dir = tmp();
    const disk = boxDisk(dir);
    const b1 = join(dir, 'bases', 'b1.qcow2');
    const b2 = join(dir, 'bases', 'b2.qcow2');
    forkQcow2(disk, b1);
    forkQcow2(disk, b2);
    expect(readBackingChain(disk).map((c) => c.path)).toEqual([b2, b1]);
    expect(qemuCheck(disk).status).toBe(0);
  });

  it.each(['fork:after-move', 'fork:after-child', 'fork:after-chmod'])('rolls back after an injected failure at %s', (point) => {
    const dir = tmp();
    const disk = boxDisk(dir);
    const before = { sha: sha256(disk), mode: statSync(disk).mode, ino: statSync(disk).ino };
    const dest = join(dir, 'bases', 'Ab12Cd34.qcow2');
    armFault(point, 'fail'); // a failure, not a crash: forkQcow2's own undo runs
    expect(() => forkQcow2(disk, dest)).toThrow(/injected failure/);
    expect(existsSync(dest)).toBe(false);
    expect(sha256(disk)).toBe(before.sha);
    expect(statSync(disk).mode).toBe(before.mode);
    expect(statSync(disk).ino).toBe(before.ino);
  });

  it('refuses an existing destination without moving anything', () => {
    const dir = tmp();
    const disk = boxDisk(dir);
    const before = sha256(disk);
    const dest = join(dir, 'bases', 'taken.qcow2');
    writeFileSync(dest, 'occupied');
    expectImageError(() => forkQcow2(disk, dest), ErrorCodes.ALREADY_EXISTS, dest);
    expect(sha256(disk)).toBe(before);
    expect(sha256(dest)).toBe(sha256Of('occupied', dir));
  });

  it('refuses a non-qcow2 source without moving anything', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'bases'));
    const src = join(dir, 'disk.raw');
    writeFileSync(src, Buffer.alloc(65536, 1));
    const dest = join(dir, 'bases', 'x.qcow2');
    expectImageError(() => forkQcow2(src, dest), ErrorCodes.NOT_QCOW2, src);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(src)).toBe(true);
  });

  it.each([
    ['a symlink to a disk', (dir: string, disk: string) => symlinkSync(disk, join(dir, 'link.qcow2'))],
    ['a folder', (dir: string) => mkdirSync(join(dir, 'link.qcow2'))],
    ['a FIFO', (dir: string) => execFileSync('mkfifo', [join(dir, 'link.qcow2')])],
  ])('refuses %s as the source without moving anything (and without waiting on a FIFO)', (_what, make) => {
    const dir = tmp();
    const disk = boxDisk(dir);
    const before = sha256(disk);
    const src = join(dir, 'link.qcow2');
    make(dir, disk);
    const dest = join(dir, 'bases', 'x.qcow2');
    expectImageError(() => forkQcow2(src, dest), ErrorCodes.NOT_A_FILE, src);
    expect(existsSync(dest)).toBe(false);
    expect(lstatSync(src).isFile()).toBe(false);
    expect(sha256(disk)).toBe(before);
  });

  it('names the base by its canonical path when the destination folder is reached through a symlink', () => {
    const dir = tmp();
    const disk = boxDisk(dir);
    symlinkSync(join(dir, 'bases'), join(dir, 'bases-link'));
    const r = forkQcow2(disk, join(dir, 'bases-link', 'b.qcow2'));
    expect(r.basePath).toBe(join(realpathSync(dir), 'bases', 'b.qcow2'));
    expect(qemuInfo(disk)['backing-filename']).toBe(r.basePath);
    expect(qemuCompare(disk, r.basePath).status).toBe(0);
  });

  it('refuses a missing destination folder without moving anything', () => {
    const dir = tmp();
    const disk = boxDisk(dir);
    const before = sha256(disk);
    const missing = join(dir, 'no-such-folder');
    expectImageError(() => forkQcow2(disk, join(missing, 'b.qcow2')), ErrorCodes.NOT_FOUND, missing);
    expect(sha256(disk)).toBe(before);
  });

  it('refuses a missing source', () => {
    const dir = tmp();
    const src = join(dir, 'nope.qcow2');
    expectImageError(() => forkQcow2(src, join(dir, 'b.qcow2')), ErrorCodes.NOT_FOUND, src);
  });
});

function sha256Of(text: string, dir: string): string {
  const f = join(dir, 'expected.txt');
  writeFileSync(f, text);
  return sha256(f);
}
