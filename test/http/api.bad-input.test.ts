/**
 * Bad input on every route: a clear 4xx JSON error naming the field, and
 * nothing changed — the home's files and DB rows and the queues are the same
 * before and after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcSettled } from '../helpers/pipeline.js';
import { call, homePicture, startTestService, type TestService } from './support.js';

let s: TestService;

beforeAll(async () => {
  s = await startTestService();
  await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'src', sizeBytes: 1 << 20 } });
  await call(s.url, 'POST', '/api/boxes/src/clones?wait=1', { body: { targets: ['c1'] } });
  await call(s.url, 'POST', '/api/boxes/src/snapshots?wait=1', { body: { name: 'snap1' } });
  await gcSettled(s.tp.client);
});
afterAll(async () => {
  await s?.close();
});

interface Case {
  what: string;
  method: string;
  path: string | (() => string);
  body?: unknown;
  rawBody?: string;
  status: number;
  code: string;
  field?: string;
}

const cases: Case[] = [
  // boxes
  { what: 'unknown box', method: 'GET', path: '/api/boxes/nope', status: 404, code: 'E_UNKNOWN_BOX', field: 'id' },
  { what: '".." as a box id', method: 'GET', path: '/api/boxes/..', status: 400, code: 'E_INVALID_NAME', field: 'id' },
  { what: 'an encoded "/" in a box id', method: 'DELETE', path: '/api/boxes/src%2F..%2Fc1', status: 400, code: 'E_INVALID_NAME', field: 'id' },
  { what: 'NUL in a box id', method: 'DELETE', path: '/api/boxes/src%00', status: 400, code: 'E_INVALID_NAME', field: 'id' },
  { what: 'a leading dot', method: 'DELETE', path: '/api/boxes/.hidden', status: 400, code: 'E_INVALID_NAME', field: 'id' },
  { what: 'remove an unknown box', method: 'DELETE', path: '/api/boxes/ghost', status: 404, code: 'E_UNKNOWN_BOX', field: 'id' },
  // A 255-byte id is a name a box may have (it is found or not); one byte more is not one.
  { what: 'an unknown box with a 255-byte id', method: 'DELETE', path: `/api/boxes/${'L'.repeat(255)}`, status: 404, code: 'E_UNKNOWN_BOX', field: 'id' },
  { what: 'an unknown box with a 255-byte id, percent-encoded', method: 'GET', path: `/api/boxes/${encodeURIComponent('é'.repeat(127))}x/snapshots`, status: 404, code: 'E_UNKNOWN_BOX', field: 'id' },
  { what: 'a 256-byte box id', method: 'GET', path: `/api/boxes/${'L'.repeat(256)}`, status: 400, code: 'E_INVALID_NAME', field: 'id' },
  { what: 'a box id past any name in a URL', method: 'GET', path: `/api/boxes/${'L'.repeat(800)}`, status: 400, code: 'E_INVALID_NAME', field: '(path)' },
  { what: 'create: path trick in boxId', method: 'POST', path: '/api/boxes', body: { boxId: '../escape', sizeBytes: 1 << 20 }, status: 400, code: 'E_INVALID_NAME', field: 'boxId' },
  { what: 'create: the reserved id', method: 'POST', path: '/api/boxes', body: { boxId: '__global__', sizeBytes: 1 << 20 }, status: 400, code: 'E_INVALID_NAME', field: 'boxId' },
  { what: 'create: both sizes', method: 'POST', path: '/api/boxes', body: { boxId: 'x', sizeBytes: 1, fromImage: '/a' }, status: 400, code: 'E_BAD_PAYLOAD', field: 'sizeBytes' },
  { what: 'create: negative size', method: 'POST', path: '/api/boxes', body: { boxId: 'x', sizeBytes: -5 }, status: 400, code: 'E_BAD_PAYLOAD', field: 'sizeBytes' },
  { what: 'create: missing image', method: 'POST', path: '/api/boxes', body: { boxId: 'x', fromImage: '/nonexistent-forkpoint-test/no-such-image.qcow2' }, status: 422, code: 'E_NOT_FOUND', field: 'fromImage' },
  { what: 'create: missing image, waiting', method: 'POST', path: '/api/boxes?wait=1', body: { boxId: 'x', fromImage: '/nonexistent-forkpoint-test/no-such-image.qcow2' }, status: 422, code: 'E_NOT_FOUND', field: 'fromImage' },
  { what: 'create: relative image path', method: 'POST', path: '/api/boxes', body: { boxId: 'x', fromImage: 'img.qcow2' }, status: 400, code: 'E_BAD_PAYLOAD', field: 'fromImage' },
  { what: 'create: unknown field', method: 'POST', path: '/api/boxes', body: { boxId: 'x', sizeBytes: 1, colour: 'red' }, status: 400, code: 'E_BAD_PAYLOAD' },
  { what: 'create: existing box', method: 'POST', path: '/api/boxes', body: { boxId: 'c1', sizeBytes: 1 << 20 }, status: 409, code: 'E_ALREADY_EXISTS', field: 'boxId' },
  { what: 'create: malformed JSON', method: 'POST', path: '/api/boxes', rawBody: '{"boxId": ', status: 400, code: 'E_BAD_PAYLOAD', field: '(body)' },
  // Past the 4 MiB body limit: 413, the status HTTP has for it (a client knows to send less, not to fix a field).
  { what: 'create: a body past the limit', method: 'POST', path: '/api/boxes', rawBody: JSON.stringify({ boxId: 'x', pad: 'p'.repeat(5 * 2 ** 20) }), status: 413, code: 'E_BAD_PAYLOAD', field: '(body)' },
  { what: 'create: bad op', method: 'POST', path: '/api/boxes', body: { boxId: 'x', sizeBytes: 1 << 20, op: 'a b' }, status: 400, code: 'E_BAD_PAYLOAD', field: 'op' },
  { what: 'create: bad wait flag', method: 'POST', path: '/api/boxes?wait=maybe', body: { boxId: 'x', sizeBytes: 512 }, status: 400, code: 'E_BAD_PAYLOAD', field: 'wait' },
  { what: 'create: unknown rootfs', method: 'POST', path: '/api/boxes', body: { boxId: 'x', rootfs: 'no-such-key' }, status: 404, code: 'E_UNKNOWN_BASE', field: 'rootfs' },
  { what: 'create: size and rootfs', method: 'POST', path: '/api/boxes', body: { boxId: 'x', sizeBytes: 1, rootfs: 'k' }, status: 400, code: 'E_BAD_PAYLOAD', field: 'sizeBytes' },
  // rootfs
  { what: 'rootfs: path trick in the key', method: 'POST', path: '/api/rootfs', body: { key: '../k', image: '/tmp/x.ext4' }, status: 400, code: 'E_INVALID_NAME', field: 'key' },
  { what: 'rootfs: relative image path', method: 'POST', path: '/api/rootfs', body: { key: 'k', image: 'x.ext4' }, status: 400, code: 'E_BAD_PAYLOAD', field: 'image' },
  { what: 'rootfs: remove an unknown key', method: 'DELETE', path: '/api/rootfs/ghost', status: 404, code: 'E_UNKNOWN_BASE', field: 'key' },
  // clones
  { what: 'clone an unknown box', method: 'POST', path: '/api/boxes/ghost/clones', body: { targets: ['t1'] }, status: 404, code: 'E_UNKNOWN_BOX', field: 'id' },
  { what: 'clone: path trick in a target', method: 'POST', path: '/api/boxes/src/clones', body: { targets: ['ok', 'a/b'] }, status: 400, code: 'E_INVALID_NAME', field: 'targets.1' },
  { what: 'clone: NUL in a target', method: 'POST', path: '/api/boxes/src/clones', body: { targets: ['a\u0000b'] }, status: 400, code: 'E_INVALID_NAME', field: 'targets.0' },
  { what: 'clone: target is the source', method: 'POST', path: '/api/boxes/src/clones', body: { targets: ['src'] }, status: 400, code: 'E_BAD_PAYLOAD', field: 'targets.0' },
  { what: 'clone: existing target', method: 'POST', path: '/api/boxes/src/clones', body: { targets: ['new1', 'c1'] }, status: 409, code: 'E_ALREADY_EXISTS', field: 'targets.1' },
  { what: 'clone: duplicate targets', method: 'POST', path: '/api/boxes/src/clones', body: { targets: ['d', 'd'] }, status: 400, code: 'E_BAD_PAYLOAD', field: 'targets' },
  { what: 'clone: targets and count', method: 'POST', path: '/api/boxes/src/clones', body: { targets: ['t'], count: 2 }, status: 400, code: 'E_BAD_PAYLOAD', field: 'targets' },
  { what: 'clone: count 0', method: 'POST', path: '/api/boxes/src/clones', body: { count: 0 }, status: 400, code: 'E_BAD_PAYLOAD', field: 'count' },
  { what: 'clone: count not an integer', method: 'POST', path: '/api/boxes/src/clones', body: { count: 'lots' }, status: 400, code: 'E_BAD_PAYLOAD', field: 'count' },
  { what: 'clone: prefix with a slash', method: 'POST', path: '/api/boxes/src/clones', body: { count: 2, prefix: 'x/' }, status: 400, code: 'E_INVALID_NAME', field: 'prefix' },
  { what: 'clone: prefix too long for the ids', method: 'POST', path: '/api/boxes/src/clones', body: { count: 2, prefix: 'p'.repeat(255) }, status: 400, code: 'E_INVALID_NAME', field: 'prefix' },
  // snapshots
  { what: 'snapshot of an unknown box', method: 'POST', path: '/api/boxes/ghost/snapshots', body: { name: 's' }, status: 404, code: 'E_UNKNOWN_BOX', field: 'id' },
  { what: 'snapshot: ".." as name', method: 'POST', path: '/api/boxes/src/snapshots', body: { name: '..' }, status: 400, code: 'E_INVALID_NAME', field: 'name' },
  { what: 'snapshot: missing name', method: 'POST', path: '/api/boxes/src/snapshots', body: {}, status: 400, code: 'E_BAD_PAYLOAD', field: 'name' },
  { what: 'list snapshots: bad box filter', method: 'GET', path: '/api/snapshots?box=..', status: 400, code: 'E_INVALID_NAME', field: 'box' },
  { what: 'snapshots of an unknown box', method: 'GET', path: '/api/boxes/ghost/snapshots', status: 404, code: 'E_UNKNOWN_BOX', field: 'id' },
  { what: 'remove an unknown snapshot', method: 'DELETE', path: '/api/snapshots/nosnap', status: 404, code: 'E_UNKNOWN_SNAPSHOT', field: 'name' },
  { what: 'remove a snapshot of the wrong box', method: 'DELETE', path: '/api/snapshots/snap1?box=c1', status: 404, code: 'E_UNKNOWN_SNAPSHOT', field: 'name' },
  { what: 'remove: bad force flag', method: 'DELETE', path: '/api/snapshots/snap1?force=yes', status: 400, code: 'E_BAD_PAYLOAD', field: 'force' },
  { what: 'remove: path trick in name', method: 'DELETE', path: '/api/snapshots/..%2F..', status: 400, code: 'E_INVALID_NAME', field: 'name' },
  { what: 'clone from an unknown snapshot', method: 'POST', path: '/api/snapshots/nosnap/clones', body: { target: 't' }, status: 404, code: 'E_UNKNOWN_SNAPSHOT', field: 'name' },
  { what: 'clone from snapshot: path trick in target', method: 'POST', path: '/api/snapshots/snap1/clones', body: { target: '/etc' }, status: 400, code: 'E_INVALID_NAME', field: 'target' },
  { what: 'clone from snapshot: existing target', method: 'POST', path: '/api/snapshots/snap1/clones', body: { target: 'c1' }, status: 409, code: 'E_ALREADY_EXISTS', field: 'target' },
  // bases, gc, jobs
  { what: 'malformed base id', method: 'GET', path: '/api/bases/short', status: 400, code: 'E_INVALID_ID', field: 'id' },
  { what: 'unknown base id', method: 'GET', path: '/api/bases/ZZZZZZZZ', status: 404, code: 'E_UNKNOWN_BASE', field: 'id' },
  { what: 'bases: unknown kind', method: 'GET', path: '/api/bases?kind=disk', status: 400, code: 'E_BAD_PAYLOAD', field: 'kind' },
  { what: 'gc: malformed base id', method: 'POST', path: '/api/gc', body: { baseId: '../x' }, status: 400, code: 'E_INVALID_ID', field: 'baseId' },
  { what: 'gc: unknown base id', method: 'POST', path: '/api/gc', body: { baseId: 'ZZZZZZZZ' }, status: 404, code: 'E_UNKNOWN_BASE', field: 'baseId' },
  { what: 'gc: dryRun not a boolean', method: 'POST', path: '/api/gc', body: { dryRun: 'yes' }, status: 400, code: 'E_BAD_PAYLOAD', field: 'dryRun' },
  { what: 'job: unknown queue', method: 'GET', path: '/api/jobs/other/1', status: 400, code: 'E_BAD_PAYLOAD', field: 'queue' },
  { what: 'job: malformed id', method: 'GET', path: '/api/jobs/ops/a%20b', status: 400, code: 'E_BAD_PAYLOAD', field: 'id' },
  { what: 'job events: unknown job', method: 'GET', path: '/api/jobs/ops/nojob/events', status: 404, code: 'E_NOT_FOUND', field: 'id' },
  { what: 'no such route', method: 'GET', path: '/api/nothing', status: 404, code: 'E_NOT_FOUND' },
];

describe('bad input over HTTP', () => {
  it.each(cases)('$what → $status $code', async (c) => {
    const before = homePicture(s.tp.layout.home);
    const countsBefore = await s.tp.client.queue('ops').getJobCounts();
    const path = typeof c.path === 'function' ? c.path() : c.path;
    const r = await call(s.url, c.method, path, { ...(c.body !== undefined ? { body: c.body } : {}), ...(c.rawBody ? { rawBody: c.rawBody } : {}) });
    expect(r.status).toBe(c.status);
    expect(r.headers['content-type']).toMatch(/application\/json/);
    expect(r.body.error.code).toBe(c.code);
    expect(typeof r.body.error.message).toBe('string');
    if (c.field !== undefined) expect(r.body.error.details.field).toBe(c.field);
    expect(homePicture(s.tp.layout.home)).toEqual(before);
    expect(await s.tp.client.queue('ops').getJobCounts()).toEqual(countsBefore);
  });
});
