/**
 * box-import against a hostile local user (the service often runs as root): a layout folder in
 * an import folder swapped, after the check, for a symlink to a root-only layout is refused
 * (E_FORBIDDEN) and nothing of it is read; a blob swapped between its checks and its open for a
 * symlink or a FIFO is E_CONFLICT (never followed, never waited on); and JSON keys such as
 * `__proto__`, or annotation values that are not strings, are plain data; a blob of holes is
 * installed with its holes kept. Each refusal leaves the home as it was.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, cpSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { listBoxes } from '../../src/db/sql/listBoxes.js';
import { listPendingOps } from '../../src/db/sql/listPendingOps.js';
import { ForkpointError } from '../../src/errors.js';
import { armHook, disarmFaults } from '../../src/faults.js';
import { boxDiskPath } from '../../src/layout.js';
import { ANN, REF_NAME } from '../../src/oci/layout.js';
import { readLayoutImage } from '../../src/oci/read-layout.js';
import { exportFromHome } from '../../src/producers/oci-export.js';
import type { InProcessDriver } from '../../src/workers/in-process.js';
import { qemuCheck, qemuCompare } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();
const tmp = useTmpDirs('fp-oci-untrusted-');
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

afterEach(() => disarmFaults());

/** A box exported from a home of its own into `dir` (tag S). */
function exportBox(dir: string, pattern: number): void {
  exportBoxFrom(dir, pattern);
}

/** exportBox, returning the home it came from. */
function exportBoxFrom(dir: string, pattern: number): InProcessDriver {
  const a = open(newHome());
  makeBox(a, 'S', pattern);
  const reader = openReader(a.layout.home);
  try {
    exportFromHome(reader, { boxId: 'S', dir });
  } finally {
    reader.close();
  }
  return a;
}

function expectUntouched(b: InProcessDriver): void {
  expect(listBoxes(b.reader)).toEqual([]);
  expect(readdirSync(b.layout.basesDir)).toEqual([]);
  expect(readdirSync(b.layout.boxesDir)).toEqual([]);
  expect(listPendingOps(b.reader)).toEqual([]);
}

async function refused(p: Promise<unknown>): Promise<ForkpointError> {
  const err = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ForkpointError);
  return err as ForkpointError;
}

const manifestBlob = (dir: string): string => {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  return join(dir, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7));
};

describe.skipIf(!isRoot)('box-import: a layout swapped after it was checked', () => {
  it('refuses a layout folder swapped for a symlink to a root-only layout, reading nothing of it', async () => {
    const parent = tmp();
    chmodSync(parent, 0o755);
    const imports = join(parent, 'imports');
    const mine = join(imports, 'nobody');
    mkdirSync(mine, { recursive: true });
    chmodSync(imports, 0o755);
    const secret = join(parent, 'root-only');
    mkdirSync(secret, { mode: 0o700 });
    exportBox(join(secret, 'layout'), 0x5e); // root's own export: nobody cannot read it
    exportBox(join(mine, 'layout'), 0x21);
    spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, mine]);
    chownSync(mine, NOBODY, NOBODY);

    const b = open(newHome(), { importDirs: [imports] });
    armHook('import:after-check', () => {
      const r = spawnSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', 'sh', '-c', 'mv "$1" "$1.old" && ln -s "$2" "$1"', 'sh', join(mine, 'layout'), join(secret, 'layout')], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    });
    const err = await refused(b.run('box-import', { op: newOp('imp'), layout: join(mine, 'layout'), boxId: 'pwn' }));
    expect(err.code).toBe('E_FORBIDDEN');
    expect(err.details.path).toBe(join(secret, 'layout', 'oci-layout'));
    expectUntouched(b);
  });
});

describe('box-import: a blob swapped between its checks and its open', () => {
  for (const swap of ['a symlink', 'a FIFO'] as const) {
    it(`is E_CONFLICT for ${swap}, and changes nothing`, async () => {
      const dir = join(tmp(), 'layout');
      exportBox(dir, 0x33);
      const target = manifestBlob(dir);
      const b = open(newHome());
      let swapped = 0;
      armHook('oci:before-open', (path) => {
        if (path !== target) return;
        const stand = `${target}.swap`;
        if (swap === 'a FIFO') expect(spawnSync('mkfifo', [stand]).status).toBe(0);
        else {
          cpSync(target, join(dir, 'copy-of-manifest'));
          symlinkSync(join(dir, 'copy-of-manifest'), stand);
        }
        renameSync(stand, target);
        swapped++;
      });
      const err = await refused(b.run('box-import', { op: newOp('imp'), layout: dir, boxId: 'B' }));
      expect(swapped).toBe(1);
      expect(err.code).toBe('E_CONFLICT');
      expect(err.details.path).toBe(target);
      expectUntouched(b);
    });
  }
});

describe('box-import: JSON documents past the size bound', () => {
  it('refuses an index.json or a manifest over 1 MiB before reading it, changing nothing', async () => {
    const dir = join(tmp(), 'layout');
    exportBox(dir, 0x12);
    const b = open(newHome());
    const index = readFileSync(join(dir, 'index.json'), 'utf8');
    writeFileSync(join(dir, 'index.json'), index.replace(/\}\s*$/, `,"padding":"${'x'.repeat(2 << 20)}"}`));
    const big = await refused(b.run('box-import', { op: newOp('imp'), layout: dir, boxId: 'J' }));
    expect([big.code, big.details.rule, big.details.path]).toEqual(['E_INVALID_ARGUMENT', 'too-big', join(dir, 'index.json')]);
    expectUntouched(b);

    // A manifest (its descriptor says so, and the blob is that big): refused by its size alone.
    writeFileSync(join(dir, 'index.json'), index);
    const m = manifestBlob(dir);
    const bytes = Buffer.concat([readFileSync(m), Buffer.alloc(2 << 20, 0x20)]);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    writeFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    const parsed = JSON.parse(index) as { manifests: { digest: string; size: number }[] };
    Object.assign(parsed.manifests[0]!, { digest, size: bytes.length });
    writeFileSync(join(dir, 'index.json'), JSON.stringify(parsed));
    const bigManifest = await refused(b.run('box-import', { op: newOp('imp'), layout: dir, boxId: 'J' }));
    expect([bigManifest.code, bigManifest.details.rule]).toEqual(['E_INVALID_ARGUMENT', 'too-big']);
    expectUntouched(b);
  });
});

describe('box-import: a blob of holes', () => {
  it('is installed with its holes kept: a file that cost its maker nothing costs the home nothing', async () => {
    const dir = join(tmp(), 'layout');
    const a = exportBoxFrom(dir, 0x5a);
    const manifestPath = manifestBlob(dir);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { layers: { digest: string; size: number }[] };
    const layer = manifest.layers[0]!;
    // The same qcow2 layer with 128 MiB of holes after it (qemu reads such a file the same).
    const grown = join(dir, 'grown');
    cpSync(join(dir, 'blobs', 'sha256', layer.digest.slice(7)), grown);
    const size = layer.size + (128 << 20);
    truncateSync(grown, size);
    const digest = `sha256:${createHash('sha256').update(readFileSync(grown)).digest('hex')}`;
    renameSync(grown, join(dir, 'blobs', 'sha256', digest.slice(7)));
    Object.assign(layer, { digest, size });
    const bytes = Buffer.from(JSON.stringify(manifest));
    const mDigest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    writeFileSync(join(dir, 'blobs', 'sha256', mDigest.slice(7)), bytes);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string; size: number }[] };
    Object.assign(index.manifests[0]!, { digest: mDigest, size: bytes.length });
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index));

    const b = open(newHome());
    await b.run('box-import', { op: newOp('imp'), layout: dir, boxId: 'H' });
    const disk = boxDiskPath(b.layout, 'H');
    const st = statSync(disk);
    expect(st.size).toBe(size);
    expect(st.blocks * 512).toBeLessThan(16 << 20);
    expect(qemuCheck(disk).status).toBe(0);
    expect(qemuCompare(disk, boxDiskPath(a.layout, 'S')).status).toBe(0);
  });
});

describe('box-import: JSON is data', () => {
  it('takes __proto__ and constructor keys as plain keys, and annotations that are not strings as absent', async () => {
    const dir = join(tmp(), 'layout');
    exportBox(dir, 0x44);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { annotations: Record<string, unknown> }[] };
    // Written as text: JSON.parse makes "__proto__" an own key, which a spread or merge would turn into a prototype.
    const text = JSON.stringify(index).replace('"annotations":{', `"annotations":{"__proto__":{"${REF_NAME}":"S","polluted":"yes"},"constructor":{"x":1},`);
    writeFileSync(join(dir, 'index.json'), text);
    const image = readLayoutImage(dir, 'S');
    expect(image.tag).toBe('S');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    // A box id annotation that is an object is as if absent (never handed on as a box id).
    const manifest = JSON.parse(readFileSync(manifestBlob(dir), 'utf8')) as { annotations: Record<string, unknown> };
    expect(manifest.annotations[ANN.box]).toBe('S');
    manifest.annotations[ANN.box] = { toString: 'S' };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    writeFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    const edited = JSON.parse(text) as { manifests: { digest: string; size: number }[] };
    Object.assign(edited.manifests[0]!, { digest, size: bytes.length });
    writeFileSync(join(dir, 'index.json'), JSON.stringify(edited).replace('"annotations":{', `"annotations":{"__proto__":{"polluted":"yes"},`));
    expect(readLayoutImage(dir, 'S')).toMatchObject({ tag: 'S', boxId: null, manifest: digest });
    const b = open(newHome());
    const r = await b.run('box-import', { op: newOp('imp'), layout: dir, tag: 'S', boxId: 'P' });
    expect(r.result.manifest).toBe(digest);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
