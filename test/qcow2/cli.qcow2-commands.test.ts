/** `forkpoint qcow2 …` spawned as a real process: qemu-img's keys, one-line errors, exit codes. */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { qemuCheck, qemuCompare, qemuCreate, qemuImg, qemuInfo, qemuWrite, sha256 } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { patchBytes, u64 } from './helpers.js';

const tmp = useTmpDirs('fp-cli-');
const entry = join(import.meta.dirname, 'cli-entry.ts');
// Absolute loader URL: the CLI runs with cwd in a temp folder, where `tsx` does not resolve.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;

function cli(args: string[], cwd?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', tsxLoader, entry, 'qcow2', ...args], { encoding: 'utf8', cwd });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const SAME_AS_QEMU = ['virtual-size', 'cluster-size', 'backing-filename', 'backing-filename-format', 'format', 'filename'] as const;

describe('forkpoint qcow2 info --json', () => {
  it.each([
    { name: 'v3 child with relative backing', compat: '1.1' as const },
    { name: 'v2 child', compat: '0.10' as const },
  ])('prints the keys qemu-img prints, with the same values ($name)', ({ compat }) => {
    const dir = tmp();
    qemuCreate(join(dir, 'base.qcow2'), { size: '5M', clusterSize: 4096 });
    qemuCreate(join(dir, 'child.qcow2'), { compat, backing: 'base.qcow2', backingFormat: 'qcow2' });
    const r = cli(['info', 'child.qcow2', '--json'], dir);
    expect(r.status, r.stderr).toBe(0);
    const ours = JSON.parse(r.stdout) as Record<string, unknown> & { 'format-specific': { data: Record<string, unknown> } };
    const theirs = qemuInfo(join(dir, 'child.qcow2'));
    // qemu-img info was given an absolute path; ours a relative one: compare the other keys.
    for (const key of SAME_AS_QEMU.filter((k) => k !== 'filename')) expect(ours[key], key).toEqual(theirs[key]);
    expect(ours['format-specific'].data).toEqual(theirs['format-specific']?.data);
    expect(ours['full-backing-filename']).toBe(join(dir, 'base.qcow2'));
    expect(ours['backing-chain']).toHaveLength(1);
  });
});

describe('forkpoint qcow2 commands', () => {
  it('overlay, chain, fork, rebase and flatten work end to end', () => {
    const dir = tmp();
    const base = join(dir, 'base.qcow2');
    qemuCreate(base, { size: '4M' });
    expect(cli(['overlay', base, join(dir, 'child.qcow2'), '--no-fsync']).status).toBe(0);
    expect(qemuCompare(join(dir, 'child.qcow2'), base).status).toBe(0);

    const chain = cli(['chain', join(dir, 'child.qcow2'), '--json']);
    expect(JSON.parse(chain.stdout)).toMatchObject([{ path: base, format: 'qcow2' }]);

    const fork = cli(['fork', join(dir, 'child.qcow2'), join(dir, 'b1.qcow2'), '--json']);
    expect(fork.status, fork.stderr).toBe(0);
    expect(JSON.parse(fork.stdout)).toMatchObject({ basePath: join(dir, 'b1.qcow2'), containerDiskBytes: 4 * 1024 * 1024 });
    expect(statSync(join(dir, 'b1.qcow2')).mode & 0o777).toBe(0o400);

    expect(cli(['flatten', join(dir, 'child.qcow2'), join(dir, 'flat.qcow2')]).status).toBe(0);
    expect(qemuCheck(join(dir, 'flat.qcow2')).status).toBe(0);
    expect(cli(['rebase', join(dir, 'child.qcow2'), join(dir, 'flat.qcow2')]).status).toBe(0);
    expect(qemuInfo(join(dir, 'child.qcow2'))['backing-filename']).toBe(join(dir, 'flat.qcow2'));
  });

  it('reports an error as one line naming the file, exits non-zero, changes nothing', () => {
    const dir = tmp();
    const junk = join(dir, 'junk.qcow2');
    writeFileSync(junk, 'not an image');
    const before = sha256(junk);
    const r = cli(['fork', junk, join(dir, 'base.qcow2')]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(junk);
    expect(r.stderr).toContain('E_NOT_QCOW2');
    expect(sha256(junk)).toBe(before);
    expect(existsSync(join(dir, 'base.qcow2'))).toBe(false);
  });

  it('has help with examples', () => {
    const r = cli(['--help']);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toMatch(/overlay|fork|flatten/);
  });
});

describe('forkpoint qcow2 on images qemu would not read as we would', () => {
  it('flatten of an image with an unaligned L1 entry fails naming the entry, and writes nothing (it used to write an all-zero disk)', () => {
    const dir = tmp();
    const img = join(dir, 'img.qcow2');
    qemuCreate(img, { size: '64M' });
    qemuWrite(img, 0x5a, 0, 65536);
    patchBytes(img, 0x30000, u64(0x8000000000042a00n)); // L1 entry 0 → L2 table at 0x42a00
    const r = cli(['flatten', img, join(dir, 'flat.qcow2'), '--no-fsync']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('L1 table entry 0');
    expect(r.stderr).toContain('E_QCOW2_CORRUPT');
    expect(existsSync(join(dir, 'flat.qcow2'))).toBe(false);
  });

  it('overlay of a vmdk says to convert it first, and writes no child', () => {
    const dir = tmp();
    const vmdk = join(dir, 'x.vmdk');
    qemuImg(['create', '-q', '-f', 'vmdk', vmdk, '16M']);
    const r = cli(['overlay', vmdk, join(dir, 'child.qcow2'), '--no-fsync']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('convert it first');
    expect(r.stderr).toContain('E_QCOW2_UNSUPPORTED');
    expect(existsSync(join(dir, 'child.qcow2'))).toBe(false);
  });
});
