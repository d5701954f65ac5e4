/**
 * Invariant 7 through the service: a file a request names is read only from
 * the import folders, backing chain included (a base of this home aside), and
 * anything else is refused before anything is queued (403 E_FORBIDDEN naming
 * the path) and again by the job itself, changing nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForkpointError } from '../../src/errors.js';
import { boxDiskPath } from '../../src/layout.js';
import { goldenImage } from '../helpers/pipeline.js';
import { qemuCompare, rawExt4Image } from '../helpers/qemu.js';
import { call, homePicture, startTestService, type TestService } from './support.js';

let s: TestService;
let inside: string;
let outside: string;
beforeAll(async () => {
  s = await startTestService({}, (dir) => ({ importDirs: [join(dir, 'import')] }));
  inside = join(s.dir, 'import');
  outside = join(s.dir, 'outside');
  mkdirSync(inside);
  mkdirSync(outside);
  goldenImage(join(inside, 'ok.qcow2'), 0x21);
  goldenImage(join(outside, 'evil.qcow2'), 0x66);
  writeFileSync(join(outside, 'secret.raw'), 'root:$6$secret-hash:19000:0:99999:7:::\n'.repeat(100));
  // Inside, but its backing file is outside (qemu-img create -u: the file is not even opened).
  execFileSync('qemu-img', ['create', '-q', '-u', '-f', 'qcow2', '-F', 'raw', '-b', join(outside, 'secret.raw'), join(inside, 'chain-out.qcow2'), '1M']);
  symlinkSync(join(outside, 'evil.qcow2'), join(inside, 'link.qcow2'));
  mkdirSync(join(outside, 'deep', 'er'), { recursive: true });
  symlinkSync(join(outside, 'deep'), join(inside, 'L2'));
  goldenImage(join(inside, 'evil.qcow2'), 0x01); // what a text-only resolution of the link below names
  symlinkSync('L2/../evil.qcow2', join(inside, 'climb.qcow2')); // the kernel: outside/deep/.. → outside/evil.qcow2
  mkdirSync(join(inside, 'a-folder'));
  rawExt4Image(join(outside, 'root.ext4'));
  symlinkSync(outside, join(inside, 'out')); // a folder link out (a sticky shared import folder lets anyone plant one)
  symlinkSync(join(outside, 'gone.qcow2'), join(inside, 'dangling.qcow2'));
});
afterAll(async () => {
  await s?.close();
});

const refusals: { what: string; path: () => string; code: string; status: number; names: () => string }[] = [
  { what: 'a file outside', path: () => join(outside, 'evil.qcow2'), code: 'E_FORBIDDEN', status: 403, names: () => join(outside, 'evil.qcow2') },
  { what: 'a symlink out', path: () => join(inside, 'link.qcow2'), code: 'E_FORBIDDEN', status: 403, names: () => join(inside, 'link.qcow2') },
  { what: 'a backing file outside', path: () => join(inside, 'chain-out.qcow2'), code: 'E_FORBIDDEN', status: 403, names: () => join(outside, 'secret.raw') },
  { what: 'a folder', path: () => join(inside, 'a-folder'), code: 'E_NOT_A_FILE', status: 400, names: () => join(inside, 'a-folder') },
  // Whether a file exists where the caller cannot look is not told: a missing one out there is refused as an existing one is.
  { what: 'a file through a folder link out', path: () => join(inside, 'out', 'evil.qcow2'), code: 'E_FORBIDDEN', status: 403, names: () => join(inside, 'out', 'evil.qcow2') },
  { what: 'a missing file through a folder link out', path: () => join(inside, 'out', 'no-such.qcow2'), code: 'E_FORBIDDEN', status: 403, names: () => join(inside, 'out', 'no-such.qcow2') },
  { what: 'a missing file under a missing folder through a link out', path: () => join(inside, 'out', 'none', 'x.qcow2'), code: 'E_FORBIDDEN', status: 403, names: () => join(inside, 'out', 'none', 'x.qcow2') },
  { what: 'a dangling symlink out', path: () => join(inside, 'dangling.qcow2'), code: 'E_FORBIDDEN', status: 403, names: () => join(inside, 'dangling.qcow2') },
  // A link whose target has "..": Node's JS realpath folds it as text (inside/evil.qcow2); the kernel opens outside/evil.qcow2.
  { what: 'a symlink whose target climbs out through another link', path: () => join(inside, 'climb.qcow2'), code: 'E_FORBIDDEN', status: 403, names: () => join(inside, 'climb.qcow2') },
];

describe('import folders: box create from an image', () => {
  for (const r of refusals) {
    it(`refuses ${r.what} before queueing, and the job refuses it too`, async () => {
      const before = homePicture(s.tp.layout.home);
      const pending = await s.tp.client.pending('ops');
      const reply = await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'pwn', fromImage: r.path() } });
      expect([reply.status, reply.body.error?.code], JSON.stringify(reply.body)).toEqual([r.status, r.code]);
      expect(reply.body.error.details.path).toBe(r.names());
      expect(JSON.stringify(reply.body)).not.toContain('secret-hash');
      expect(await s.tp.client.pending('ops')).toBe(pending);

      // Queued directly (another service, or a request that raced the check): the job refuses alike.
      const err = await (await s.tp.client.createBox('pwn', { fromImage: r.path() })).result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ForkpointError);
      expect((err as ForkpointError).code).toBe(r.code);
      expect(homePicture(s.tp.layout.home)).toEqual(before);
      expect(existsSync(join(s.tp.layout.boxesDir, 'pwn'))).toBe(false);
    });
  }

  it('takes a file inside, and one whose chain reaches only bases of this home', async () => {
    const ok = await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'ok', fromImage: join(inside, 'ok.qcow2') } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(qemuCompare(join(inside, 'ok.qcow2'), boxDiskPath(s.tp.layout, 'ok')).status).toBe(0);

    const snap = await call(s.url, 'POST', '/api/boxes/ok/snapshots?wait=1', { body: { name: 'v1' } });
    const basePath = join(s.tp.layout.basesDir, `${snap.body.result.baseId}.qcow2`);
    const onBase = join(inside, 'on-base.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', basePath, onBase]);
    const r = await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'on-base', fromImage: onBase } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(qemuCompare(onBase, boxDiskPath(s.tp.layout, 'on-base')).status).toBe(0);
  });

  it('refuses a path that is not normalised ("..", "."), before anything: after a symlinked folder, text and kernel disagree on it', async () => {
    // S is a link to a folder outside; to the text, S/../.. is inside again, to open(2) it is not.
    symlinkSync(join(outside, 'deep', 'er'), join(inside, 'S'));
    for (const path of [`${inside}/../outside/evil.qcow2`, `${inside}/S/../../import/ok.qcow2`, `${inside}/./ok.qcow2`]) {
      const reply = await call(s.url, 'POST', '/api/boxes', { body: { boxId: 'pwn', fromImage: path } });
      expect([reply.status, reply.body.error?.code, reply.body.error?.details?.field], path).toEqual([400, 'E_BAD_PAYLOAD', 'fromImage']);
    }
    expect(existsSync(join(s.tp.layout.boxesDir, 'pwn'))).toBe(false);
  });

  it('a missing file inside is still 422 E_NOT_FOUND', async () => {
    const r = await call(s.url, 'POST', '/api/boxes', { body: { boxId: 'x', fromImage: join(inside, 'nope.qcow2') } });
    expect([r.status, r.body.error?.code]).toEqual([422, 'E_NOT_FOUND']);
  });

  it('an image inside whose backing file inside is missing: 422 E_NOT_FOUND naming the backing file, not the image', async () => {
    const image = join(inside, 'chain-gone.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-u', '-f', 'qcow2', '-F', 'qcow2', '-b', join(inside, 'gone-below.qcow2'), image, '1M']);
    const r = await call(s.url, 'POST', '/api/boxes', { body: { boxId: 'x', fromImage: image } });
    expect([r.status, r.body.error?.code]).toEqual([422, 'E_NOT_FOUND']);
    expect(r.body.error.details).toMatchObject({ field: 'fromImage', path: join(inside, 'gone-below.qcow2') });
    expect(r.body.error.message).toContain(`${image}: its backing file ${join(inside, 'gone-below.qcow2')} is not on the server`);
  });

  it('a missing file outside is refused as outside (nothing tells a caller what exists there)', async () => {
    const r = await call(s.url, 'POST', '/api/boxes', { body: { boxId: 'x', fromImage: join(outside, 'nope.qcow2') } });
    expect([r.status, r.body.error?.code]).toEqual([403, 'E_FORBIDDEN']);
  });
});

describe('import folders: rootfs import', () => {
  it('refuses an image outside before queueing, and in the job', async () => {
    const before = readdirSync(s.tp.layout.basesDir);
    const reply = await call(s.url, 'POST', '/api/rootfs?wait=1', { body: { key: 'r1', image: join(outside, 'root.ext4') } });
    expect([reply.status, reply.body.error?.code], JSON.stringify(reply.body)).toEqual([403, 'E_FORBIDDEN']);
    const err = await (await s.tp.client.importRootfs('r1', join(outside, 'root.ext4'))).result().catch((e: unknown) => e);
    expect((err as ForkpointError).code).toBe('E_FORBIDDEN');
    expect(readdirSync(s.tp.layout.basesDir)).toEqual(before);
  });
});
