/**
 * qemu-img and qemu-io are the judges of our images. These helpers run them
 * synchronously and return what they say; they never decide anything.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export function qemuImg(args: string[]): string {
  return execFileSync('qemu-img', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `qemu-img check`: returns exit status and output (0 = clean). */
export function qemuCheck(path: string): { status: number; output: string } {
  const r = spawnSync('qemu-img', ['check', '-U', path], { encoding: 'utf8' });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** `qemu-img compare`: 0 identical, 1 different, 2+ error. */
export function qemuCompare(a: string, b: string): { status: number; output: string } {
  const r = spawnSync('qemu-img', ['compare', '-U', a, b], { encoding: 'utf8' });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

export interface QemuInfo {
  filename: string;
  format: string;
  'virtual-size': number;
  'cluster-size'?: number;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  'backing-filename-format'?: string;
  'format-specific'?: { type: string; data: Record<string, unknown> & { compat?: string } };
}

export function qemuInfo(path: string): QemuInfo {
  return JSON.parse(qemuImg(['info', '-U', '--output=json', path])) as QemuInfo;
}

export function qemuInfoChain(path: string): QemuInfo[] {
  return JSON.parse(qemuImg(['info', '-U', '--backing-chain', '--output=json', path])) as QemuInfo[];
}

export interface CreateOptions {
  size?: string | number;
  clusterSize?: number;
  compat?: '0.10' | '1.1';
  lazyRefcounts?: boolean;
  refcountBits?: number;
  extendedL2?: boolean;
  backing?: string;
  backingFormat?: 'qcow2' | 'raw';
}

export function qemuCreate(path: string, o: CreateOptions = {}): void {
  const opts: string[] = [];
  if (o.clusterSize) opts.push(`cluster_size=${o.clusterSize}`);
  if (o.compat) opts.push(`compat=${o.compat}`);
  if (o.lazyRefcounts) opts.push('lazy_refcounts=on');
  if (o.refcountBits) opts.push(`refcount_bits=${o.refcountBits}`);
  if (o.extendedL2) opts.push('extended_l2=on');
  const args = ['create', '-q', '-f', 'qcow2'];
  if (opts.length) args.push('-o', opts.join(','));
  if (o.backing) args.push('-b', o.backing, '-F', o.backingFormat ?? 'qcow2');
  args.push(path);
  if (o.size !== undefined) args.push(String(o.size));
  qemuImg(args);
}

/** Write `len` bytes of `pattern` at `offset` through qemu-io (a guest write). */
export function qemuWrite(path: string, pattern: number, offset: number, len: number, format = 'qcow2'): void {
  execFileSync('qemu-io', ['-f', format, '-c', `write -P 0x${pattern.toString(16)} ${offset} ${len}`, path], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * A raw ext4 image (what the rootfs cache holds), made by mkfs.ext4 from
 * e2fsprogs, with a recognisable pattern written past the filesystem's
 * metadata so reads through an overlay can be compared.
 */
export function rawExt4Image(path: string, sizeMiB = 16, pattern = 0x77): string {
  execFileSync('qemu-img', ['create', '-q', '-f', 'raw', path, `${sizeMiB}M`]);
  execFileSync('mkfs.ext4', ['-q', '-F', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  qemuWrite(path, pattern, (sizeMiB - 2) * 1024 * 1024, 65536, 'raw');
  return path;
}
