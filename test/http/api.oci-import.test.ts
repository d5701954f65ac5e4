/**
 * POST /api/boxes/import through the service: a layout in an import folder becomes a box that
 * reads the exported bytes (qemu-img compare); a layout outside the import folders is refused
 * (403 E_FORBIDDEN naming it) and changes nothing in the home (invariant 7).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { boxDiskPath } from '../../src/layout.js';
import { exportFromHome } from '../../src/producers/oci-export.js';
import { openInProcess } from '../../src/workers/in-process.js';
import { qemuCheck, qemuCompare } from '../helpers/qemu.js';
import { makeBox } from '../db/support/home.js';
import { call, homePicture, startTestService, type TestService } from './support.js';

let s: TestService;
let sourceDisk: string;
beforeAll(async () => {
  s = await startTestService({}, (dir) => ({ importDirs: [join(dir, 'import')] }));
  const homeA = join(s.dir, 'A');
  mkdirSync(homeA);
  const a = openInProcess(homeA, { fsync: false });
  try {
    makeBox(a, 'web', 0x3d);
    await a.run('clone', { op: 'c1', source: 'web', targets: ['web2'] });
    sourceDisk = boxDiskPath(a.layout, 'web');
  } finally {
    a.close();
  }
  const reader = openReader(homeA);
  try {
    for (const dir of ['import', 'outside']) exportFromHome(reader, { boxId: 'web', dir: join(s.dir, dir, 'layout') });
  } finally {
    reader.close();
  }
});
afterAll(async () => {
  await s?.close();
});

describe('api: POST /api/boxes/import', () => {
  it('imports a layout from an import folder', async () => {
    const r = await call(s.url, 'POST', '/api/boxes/import?wait=1', { body: { layout: join(s.dir, 'import', 'layout'), tag: 'web', boxId: 'imported' } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const disk = boxDiskPath(s.tp.layout, 'imported');
    expect(qemuCheck(disk).status).toBe(0);
    expect(qemuCompare(disk, sourceDisk).status).toBe(0);
  });

  it('refuses a layout outside the import folders before it is queued, changing nothing', async () => {
    const before = homePicture(s.tp.layout.home);
    const pending = await s.tp.client.pending('ops');
    for (const wait of ['?wait=1', '']) {
      const r = await call(s.url, 'POST', `/api/boxes/import${wait}`, { body: { layout: join(s.dir, 'outside', 'layout'), boxId: 'evil' } });
      expect([r.status, r.body.error?.code], JSON.stringify(r.body)).toEqual([403, 'E_FORBIDDEN']);
      expect(r.body.error.details).toMatchObject({ field: 'layout', path: join(s.dir, 'outside', 'layout', 'oci-layout') });
    }
    expect(await s.tp.client.pending('ops')).toBe(pending);
    expect(homePicture(s.tp.layout.home)).toEqual(before);
  });

  it('a layout missing from an import folder is 422 E_NOT_FOUND, not queued', async () => {
    const pending = await s.tp.client.pending('ops');
    const r = await call(s.url, 'POST', '/api/boxes/import', { body: { layout: join(s.dir, 'import', 'no-such-layout'), boxId: 'none' } });
    expect([r.status, r.body.error?.code], JSON.stringify(r.body)).toEqual([422, 'E_NOT_FOUND']);
    expect(await s.tp.client.pending('ops')).toBe(pending);
  });
});
