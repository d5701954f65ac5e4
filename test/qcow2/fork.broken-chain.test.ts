/**
 * forkQcow2 walks the source's whole backing chain before anything moves: a
 * missing backing file, a loop or a chain over the cap is refused with the
 * walker's code, and every file stays exactly as it was.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, type ErrorCode } from '../../src/errors.js';
import { forkQcow2, MAX_CHAIN_DEPTH, readBackingChain } from '../../src/qcow2/index.js';
import { qemuCheck, qemuCompare, qemuCreate, qemuImg, qemuWrite, sha256 } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { expectImageError, qemuRebaseUnsafe } from './helpers.js';

const tmp = useTmpDirs('fp-forkchain-');

interface Home {
  dir: string;
  bases: string;
  disk: string;
  dest: string;
}

function home(): Home {
  const dir = tmp();
  mkdirSync(join(dir, 'box', 'disks'), { recursive: true });
  mkdirSync(join(dir, 'bases'));
  return { dir, bases: join(dir, 'bases'), disk: join(dir, 'box', 'disks', 'container.qcow2'), dest: join(dir, 'bases', 'Ab12Cd34.qcow2') };
}

/** The box disk on top of `backingFiles` images in bases/, each backed by the one before. */
function diskOverChain(h: Home, backingFiles: number): void {
  let below = join(h.bases, 'l1.qcow2');
  qemuCreate(below, { size: '4M' });
  for (let i = 2; i <= backingFiles; i++) {
    const next = join(h.bases, `l${i}.qcow2`);
    qemuCreate(next, { backing: below, backingFormat: 'qcow2' });
    below = next;
  }
  qemuCreate(h.disk, { backing: below, backingFormat: 'qcow2' });
}

/** Every entry under `dir` with its mode and content hash: equal snapshots mean nothing moved, changed or appeared. */
function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, name);
    const st = lstatSync(path);
    out[relative(dir, path)] = `${(st.mode & 0o7777).toString(8)} ${st.isFile() ? sha256(path) : st.isDirectory() ? 'dir' : 'other'}`;
  }
  return out;
}

/** Fork must fail with `code`, naming every file in `names`, and leave the tree as it was. */
function expectRefusedUntouched(h: Home, code: ErrorCode, names: string[]): Error {
  const before = snapshotTree(h.dir);
  expect(before[relative(h.dir, h.disk)]).toBeDefined();
  const err = expectImageError(() => forkQcow2(h.disk, h.dest, { fsync: false }), code, h.disk);
  for (const name of names) expect(err.message).toContain(name);
  expect(existsSync(h.dest)).toBe(false);
  expect(snapshotTree(h.dir)).toEqual(before);
  return err;
}

describe('forkQcow2 on a broken backing chain', () => {
  it('refuses a source whose backing file is missing, naming it, and moves nothing', () => {
    const h = home();
    const gone = join(h.bases, 'gone.qcow2');
    qemuCreate(gone, { size: '4M' });
    qemuCreate(h.disk, { backing: gone, backingFormat: 'qcow2' });
    qemuWrite(h.disk, 0x5a, 0, 65536);
    rmSync(gone);
    expectRefusedUntouched(h, ErrorCodes.NOT_FOUND, [gone]);
  });

  it('refuses a missing file deeper in the chain, saying whose chain it is', () => {
    const h = home();
    const root = join(h.bases, 'root.qcow2');
    const mid = join(h.bases, 'mid.qcow2');
    qemuCreate(root, { size: '4M' });
    qemuCreate(mid, { backing: root, backingFormat: 'qcow2' });
    qemuCreate(h.disk, { backing: mid, backingFormat: 'qcow2' });
    rmSync(root);
    const err = expectRefusedUntouched(h, ErrorCodes.NOT_FOUND, [root, mid]);
    expect(err).toMatchObject({ details: { source: h.disk, backingFile: root } });
  });

  it('refuses a source whose chain loops (A → B → A) with E_BACKING_LOOP, and moves nothing', () => {
    const h = home();
    const b = join(h.bases, 'b.qcow2');
    qemuCreate(h.disk, { size: '4M' });
    qemuWrite(h.disk, 0x3c, 0, 65536);
    qemuCreate(b, { backing: h.disk, backingFormat: 'qcow2' });
    qemuRebaseUnsafe(h.disk, b);
    expectRefusedUntouched(h, ErrorCodes.BACKING_LOOP, [b]);
  });

  it(`refuses a source with more than ${MAX_CHAIN_DEPTH} backing files with E_CHAIN_TOO_DEEP, and moves nothing`, () => {
    const h = home();
    diskOverChain(h, MAX_CHAIN_DEPTH + 1);
    expectRefusedUntouched(h, ErrorCodes.CHAIN_TOO_DEEP, []);
  });

  it(`refuses a source with exactly ${MAX_CHAIN_DEPTH} backing files: its child would read one more than the cap`, () => {
    const h = home();
    diskOverChain(h, MAX_CHAIN_DEPTH);
    // The source itself is within the cap (qemu and our walker read it)...
    expect(readBackingChain(h.disk)).toHaveLength(MAX_CHAIN_DEPTH);
    // ...but the fork would leave its child one level over it.
    const err = expectRefusedUntouched(h, ErrorCodes.CHAIN_TOO_DEEP, ['flatten it first']);
    expect(err).toMatchObject({ details: { path: h.disk, maxDepth: MAX_CHAIN_DEPTH } });
  });
});

describe('forkQcow2 on a healthy chain', () => {
  it('forks a source with two backing files; the child reads the pre-fork bytes', () => {
    const h = home();
    const root = join(h.bases, 'root.qcow2');
    const mid = join(h.bases, 'mid.qcow2');
    qemuCreate(root, { size: '8M' });
    qemuWrite(root, 0x11, 0, 2 * 1024 * 1024);
    qemuCreate(mid, { backing: root, backingFormat: 'qcow2' });
    qemuWrite(mid, 0x22, 1024 * 1024, 2 * 1024 * 1024);
    qemuCreate(h.disk, { backing: mid, backingFormat: 'qcow2' });
    qemuWrite(h.disk, 0x33, 2 * 1024 * 1024 + 4096, 65536);
    // The guest's view before the fork, flattened, to compare the forked chain against.
    const view = join(h.dir, 'before.raw');
    qemuImg(['convert', '-U', '-O', 'raw', h.disk, view]);
    const diskSha = sha256(h.disk);

    const r = forkQcow2(h.disk, h.dest, { fsync: false });
    expect(r.basePath).toBe(h.dest);
    expect(sha256(h.dest)).toBe(diskSha);
    expect(lstatSync(h.dest).mode & 0o777).toBe(0o400);
    expect(readBackingChain(h.disk).map((l) => l.path)).toEqual([h.dest, mid, root]);
    expect(qemuCheck(h.disk).status, qemuCheck(h.disk).output).toBe(0);
    expect(qemuCheck(h.dest).status).toBe(0);
    const cmp = qemuCompare(h.disk, view);
    expect(cmp.status, cmp.output).toBe(0);
    expect(qemuCompare(h.dest, view).status).toBe(0);
  });
});
