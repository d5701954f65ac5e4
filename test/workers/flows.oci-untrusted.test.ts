/**
 * box-import against a hostile local user (the service often runs as root): a layout folder in
 * an import folder swapped, after the check, for a symlink to a root-only layout is refused
 * (E_FORBIDDEN) and nothing of it is read; a blob swapped between its checks and its open for a
 * symlink or a FIFO is E_CONFLICT (never followed, never waited on); and JSON keys such as
 * `__proto__`, or annotation values that are not strings, are plain data. Each refusal leaves the
 * home as it was.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, cpSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { listBoxes } from '../../src/db/sql/listBoxes.js';
import { listPendingOps } from '../../src/db/sql/listPendingOps.js';
import { ForkpointError } from '../../src/errors.js';
import { armHook, disarmFaults } from '../../src/faults.js';
import { ANN, REF_NAME } from '../../src/oci/layout.js';
import { readLayoutImage } from '../../src/oci/read-layout.js';
import { exportFromHome } from '../../src/producers/oci-export.js';
import type { InProcessDriver } from '../../src/workers/in-process.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();
const tmp = useTmpDirs('fp-oci-untrusted-');
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

afterEach(() => disarmFaults());

/** A box exported from a home of its own into `dir` (tag S). */
function exportBox(dir: string, pattern: number): void {
  const a = open(newHome());
  makeBox(a, 'S', pattern);
  const reader = openReader(a.layout.home);
  try {
    exportFromHome(reader, { boxId: 'S', dir });
  } finally {
    reader.close();
  }
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
