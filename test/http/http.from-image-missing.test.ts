/**
 * `POST /api/boxes { fromImage }` naming a file that is not there is a bad
 * request body, not a missing URL: 422 with the code the CLI and the job use
 * for a missing image (E_NOT_FOUND), the field and the path, and nothing
 * changed: no box row, no box folder, no job. A missing file further down
 * (the image's backing file) is only found by the job; waiting for it gives
 * the same 422. `POST /api/rootfs { image }` is held to the same rule.
 */
import { existsSync, mkdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxDir } from '../../src/layout.js';
import { gcSettled } from '../helpers/pipeline.js';
import { qemuCreate } from '../helpers/qemu.js';
import { call, homePicture, readSse, startTestService, type TestService } from './support.js';

let s: TestService;
let images: string;
/** Paths that name no file, each a different way. */
let missing: [what: string, path: string][];

beforeAll(async () => {
  s = await startTestService();
  images = join(s.dir, 'images');
  mkdirSync(images);
  writeFileSync(join(images, 'plain-file'), 'x');
  symlinkSync(join(images, 'gone.qcow2'), join(images, 'dangling.qcow2'));
  missing = [
    ['a missing file', join(images, 'no-such-image.qcow2')],
    ['a path through a regular file', join(images, 'plain-file', 'img.qcow2')],
    ['a dangling symlink', join(images, 'dangling.qcow2')],
  ];
  await gcSettled(s.tp.client); // the start-up sweep, so "nothing queued" below means something
});
afterAll(async () => {
  await s?.close();
});

/** Every job state of both queues: a job queued and already failed would show here. */
async function allJobCounts() {
  return { ops: await s.tp.client.queue('ops').getJobCounts(), gc: await s.tp.client.queue('gc').getJobCounts() };
}

describe('POST /api/boxes with a fromImage that does not exist', () => {
  it.each(['', '?wait=1'])('answers 422 E_NOT_FOUND naming the field and the path, and changes nothing (query %j)', async (query) => {
    for (const [what, image] of missing) {
      const before = homePicture(s.tp.layout.home);
      const countsBefore = await allJobCounts();
      const r = await call(s.url, 'POST', `/api/boxes${query}`, { body: { boxId: 'from-missing', fromImage: image } });
      expect(r.status, what).toBe(422);
      expect(r.headers['content-type']).toMatch(/application\/json/);
      expect(r.body.error).toMatchObject({ code: 'E_NOT_FOUND', details: { field: 'fromImage', in: 'body', path: image } });
      expect(r.body.error.message).toContain(image);
      // nothing changed: no box row, no box folder, no job
      expect((await call(s.url, 'GET', '/api/boxes/from-missing')).status).toBe(404);
      expect(existsSync(boxDir(s.tp.layout, 'from-missing'))).toBe(false);
      expect(homePicture(s.tp.layout.home)).toEqual(before);
      expect(await allJobCounts()).toEqual(countsBefore);
    }
  });

  it('an image whose backing file is missing is queued (only the job reads the chain); waiting for it answers the same 422', async () => {
    const base = join(images, 'base.qcow2');
    const overlay = join(images, 'overlay.qcow2');
    qemuCreate(base, { size: '4M' });
    qemuCreate(overlay, { backing: base, backingFormat: 'qcow2' });
    unlinkSync(base);

    const queued = await call(s.url, 'POST', '/api/boxes', { body: { boxId: 'chain-missing', fromImage: overlay } });
    expect(queued.status).toBe(202);
    // The job itself reports the code, as it does for the CLI.
    const { events } = await readSse(s.url, queued.body.links.events);
    expect(events.at(-1)).toMatchObject({ event: 'failed', data: { error: { code: 'E_NOT_FOUND' } } });

    const waited = await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'chain-missing-2', fromImage: overlay } });
    expect(waited.status).toBe(422);
    expect(waited.body.error.code).toBe('E_NOT_FOUND');
    // The job that failed left no box behind.
    expect((await call(s.url, 'GET', '/api/boxes/chain-missing-2')).status).toBe(404);
    expect(existsSync(boxDir(s.tp.layout, 'chain-missing-2'))).toBe(false);
  });

  it('a file that exists is not refused by the API (a good image makes a box)', async () => {
    const good = join(images, 'good.qcow2');
    qemuCreate(good, { size: '4M' });
    const r = await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'from-good', fromImage: good } });
    expect(r.status).toBe(200);
    expect(r.body.result.boxId).toBe('from-good');
  });
});

describe('POST /api/rootfs with an image that does not exist', () => {
  it.each(['', '?wait=1'])('answers 422 E_NOT_FOUND naming the field, and imports nothing (query %j)', async (query) => {
    for (const [what, image] of missing) {
      const before = homePicture(s.tp.layout.home);
      const countsBefore = await allJobCounts();
      const r = await call(s.url, 'POST', `/api/rootfs${query}`, { body: { key: 'missing-rootfs', image } });
      expect(r.status, what).toBe(422);
      expect(r.body.error).toMatchObject({ code: 'E_NOT_FOUND', details: { field: 'image', in: 'body', path: image } });
      expect((await call(s.url, 'GET', '/api/rootfs')).body.rootfs).toEqual([]);
      expect(homePicture(s.tp.layout.home)).toEqual(before);
      expect(await allJobCounts()).toEqual(countsBefore);
    }
  });
});
