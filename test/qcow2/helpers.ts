/** Shared fixtures for the qcow2 suites: parent shapes qemu-img can make, and file snapshots. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import { isForkpointError, type ErrorCode } from '../../src/errors.js';
import { qemuImg, type CreateOptions } from '../helpers/qemu.js';

/** Every parent shape the issue lists (data, chains, raw and relative parents are separate tests). */
export const PARENT_SHAPES: { name: string; opts: CreateOptions }[] = [
  { name: '512 B clusters', opts: { clusterSize: 512 } },
  { name: '4 KiB clusters', opts: { clusterSize: 4096 } },
  { name: '64 KiB clusters', opts: { clusterSize: 65536 } },
  { name: '2 MiB clusters', opts: { clusterSize: 2 * 1024 * 1024 } },
  { name: 'compat 0.10', opts: { compat: '0.10' } },
  { name: 'compat 1.1', opts: { compat: '1.1' } },
  { name: 'lazy refcounts', opts: { lazyRefcounts: true } },
  { name: 'refcount_bits 1', opts: { refcountBits: 1 } },
  { name: 'refcount_bits 16', opts: { refcountBits: 16 } },
  { name: 'refcount_bits 64', opts: { refcountBits: 64 } },
  { name: 'extended_l2', opts: { extendedL2: true, clusterSize: 65536 } },
];

/** `qemu-img rebase -u`: rewrite a backing name without checks (our way to craft loops). */
export function qemuRebaseUnsafe(image: string, backing: string, format = 'qcow2'): void {
  qemuImg(['rebase', '-u', '-f', 'qcow2', '-b', backing, '-F', format, image]);
}

export function qemuIo(path: string, command: string, format = 'qcow2'): string {
  return execFileSync('qemu-io', ['-f', format, '-c', command, path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Overwrite bytes of a file in place (header surgery for bad-input tests). */
export function patchBytes(path: string, offset: number, bytes: Buffer): void {
  const buf = readFileSync(path);
  bytes.copy(buf, offset);
  writeFileSync(path, buf);
}

export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
export const u64 = (n: bigint | number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};

/** Run `fn`, expect a ForkpointError with `code` whose message names `file`. */
export function expectImageError(fn: () => unknown, code: ErrorCode, file: string): Error {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected an error').toBeDefined();
  if (!isForkpointError(caught)) throw caught instanceof Error ? caught : new Error(String(caught));
  expect(caught.code).toBe(code);
  expect(caught.message).toContain(file);
  return caught;
}
