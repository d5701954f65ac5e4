/** The rootfs routes: import a raw image, list it, a box on it, refusal while read, removal. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxDiskPath } from '../../src/layout.js';
import { qemuCheck, qemuCompare, rawExt4Image } from '../helpers/qemu.js';
import { call, startTestService, type TestService } from './support.js';

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  await s?.close();
});

describe('api: rootfs cache', () => {
  it('imports, lists, serves a box from it, refuses removal while read, then removes it', async () => {
    const raw = rawExt4Image(join(s.dir, 'alpine.ext4'), 8);

    const imported = await call(s.url, 'POST', '/api/rootfs?wait=1', { body: { key: 'alpine-3', image: raw } });
    expect(imported.status, JSON.stringify(imported.body)).toBe(200);
    const listed = await call(s.url, 'GET', '/api/rootfs');
    expect(listed.body.rootfs.map((r: { name: string }) => r.name)).toEqual(['alpine-3']);

    const box = await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'on-rootfs', rootfs: 'alpine-3' } });
    expect(box.status, JSON.stringify(box.body)).toBe(200);
    const disk = boxDiskPath(s.tp.layout, 'on-rootfs');
    expect(qemuCheck(disk).status).toBe(0);
    expect(qemuCompare(raw, disk).status).toBe(0);

    const refused = await call(s.url, 'DELETE', '/api/rootfs/alpine-3?wait=1');
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('E_HAS_DEPENDENTS');

    expect((await call(s.url, 'DELETE', '/api/boxes/on-rootfs?wait=1')).status).toBe(200);
    const removed = await call(s.url, 'DELETE', '/api/rootfs/alpine-3?wait=1');
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect((await call(s.url, 'GET', '/api/rootfs')).body.rootfs).toEqual([]);
  });
});
