/**
 * POST /api/boxes/:id/restore, GET /api/bases/:id/why, GET /api/bases/:id/info,
 * GET /api/boxes/:id/info on a real service; and the same views from the built
 * CLI (`snapshot restore`, `bases why`, `bases info`, `box info`, --json).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { boxDiskPath } from '../../src/layout.js';
import { gcSettled, goldenImage, runCli } from '../helpers/pipeline.js';
import { qemuCheck, qemuCompare, qemuWrite } from '../helpers/qemu.js';
import { call, homePicture, startTestService, type TestService } from './support.js';

let s: TestService;
let snapBase: string;
let cloneBase: string;

beforeAll(async () => {
  s = await startTestService();
  const golden = goldenImage(join(s.dir, 'golden.qcow2'), 0x3e);
  expect((await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'web', fromImage: golden } })).status).toBe(200);
  snapBase = (await call(s.url, 'POST', '/api/boxes/web/snapshots?wait=1', { body: { name: 'clean' } })).body.result.baseId;
  qemuWrite(boxDiskPath(s.tp.layout, 'web'), 0x01, 0, 65536);
  cloneBase = (await call(s.url, 'POST', '/api/boxes/web/clones?wait=1', { body: { targets: ['c1'] } })).body.result.baseId;
  await gcSettled(s.tp.client);
});
afterAll(async () => {
  await s?.close();
});

describe('why and info over HTTP', () => {
  it('says who keeps the snapshot and what would free it', async () => {
    const r = await call(s.url, 'GET', `/api/bases/${snapBase}/why`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ decision: { action: 'keep', reason: 'snapshot' }, kindRule: 'snapshot', collectable: false });
    expect(r.body.bases.map((b: { id: string }) => b.id)).toEqual([cloneBase]);
    expect(r.body.boxes.map((b: { id: string }) => b.id)).toEqual(['c1', 'web']);
    expect(r.body.wouldFree).toMatchObject({ removeBoxes: ['c1', 'web'], removeSnapshots: [{ id: snapBase, name: 'clean' }], verified: true });
  });

  it('one object per box and base, with allocated bytes and the chain', async () => {
    const box = await call(s.url, 'GET', '/api/boxes/web/info');
    expect(box.status).toBe(200);
    expect(box.body.chain.map((c: { baseId: string }) => c.baseId)).toEqual([cloneBase, snapBase]);
    expect(box.body.disk.allocatedBytes).toBeGreaterThan(0);
    expect(box.body.snapshots.map((x: { id: string }) => x.id)).toEqual([snapBase]);
    const base = await call(s.url, 'GET', `/api/bases/${cloneBase}/info`);
    expect(base.body).toMatchObject({ chain: [{ baseId: snapBase, kind: 'snapshot' }], children: [] });
    expect(base.body.refs.sort()).toEqual(['c1', 'web']);
    expect((await call(s.url, 'GET', '/api/bases/Zzzzzzzz/why')).body.error.code).toBe('E_UNKNOWN_BASE');
    expect((await call(s.url, 'GET', '/api/boxes/nobody/info')).body.error.code).toBe('E_UNKNOWN_BOX');
  });
});

describe('restore over HTTP', () => {
  it('refuses an unknown snapshot before queueing anything, and a bad body', async () => {
    const before = homePicture(s.tp.layout.home);
    const r = await call(s.url, 'POST', '/api/boxes/web/restore?wait=1', { body: { name: 'nope' } });
    expect([r.status, r.body.error.code]).toEqual([404, 'E_UNKNOWN_SNAPSHOT']);
    const nobody = await call(s.url, 'POST', '/api/boxes/nobody/restore?wait=1', { body: { name: 'clean' } });
    expect([nobody.status, nobody.body.error.code]).toEqual([404, 'E_UNKNOWN_BOX']);
    const bad = await call(s.url, 'POST', '/api/boxes/web/restore?wait=1', { body: { name: 'clean', extra: 1 } });
    expect(bad.status).toBe(400);
    expect(homePicture(s.tp.layout.home)).toEqual(before);
  });

  it('restores the box; the clone base stays while c1 reads it', async () => {
    const r = await call(s.url, 'POST', '/api/boxes/web/restore?wait=1', { body: { name: 'clean', checkInUse: true } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.result).toMatchObject({ boxId: 'web', baseId: snapBase });
    const disk = boxDiskPath(s.tp.layout, 'web');
    expect(qemuCheck(disk).status).toBe(0);
    const info = await call(s.url, 'GET', '/api/boxes/web/info');
    expect(info.body.chain.map((c: { baseId: string }) => c.baseId)).toEqual([snapBase]);
    expect(qemuCompare(info.body.chain[0].path, disk).status).toBe(0);
    const why = await call(s.url, 'GET', `/api/bases/${cloneBase}/why`);
    expect(why.body).toMatchObject({ decision: { reason: 'has_refs' }, refs: ['c1'], wouldFree: { removeBoxes: ['c1'], verified: true } });
  });
});

describe('the CLI views', () => {
  // Read-only commands: the service owns the home, and these never take its lock.
  const fp = (args: string[]) => runCli(['--home', s.tp.layout.home, '--redis', inject('redisUrl'), ...args]);

  it('bases why / bases info / box info, as text and --json', async () => {
    const why = await fp(['bases', 'why', cloneBase]);
    expect(why.status, why.stderr).toBe(0);
    expect(why.stdout).toContain('kept: boxes read it');
    expect(why.stdout).toContain('would free it: remove (or restore elsewhere) boxes c1');
    const json = JSON.parse((await fp(['--json', 'bases', 'why', snapBase])).stdout);
    expect(json.wouldFree.removeSnapshots[0]).toMatchObject({ sourceBoxId: 'web', name: 'clean' });
    const box = JSON.parse((await fp(['--json', 'box', 'info', 'c1'])).stdout);
    expect(box.chain.map((c: { baseId: string }) => c.baseId)).toEqual([cloneBase, snapBase]);
    expect((await fp(['bases', 'info', cloneBase])).stdout).toContain(`chain: ${snapBase} (snapshot)`);
    const unknown = await fp(['bases', 'why', 'Zzzzzzzz']);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toContain('E_UNKNOWN_BASE');
  });
});
