/**
 * A repair through the running service (`POST /api/check/repair`, what
 * `forkpoint check --repair` asks for when serve owns the home): the pipeline
 * pauses its workers, repairs through its own ports, and takes jobs again.
 */
import { existsSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestService, type TestService } from './support.js';

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  await s?.close();
});

describe('check: repair through the service', () => {
  it('moves an old orphan to trash/ while serving, then keeps taking jobs', async () => {
    const orphan = join(s.tp.layout.basesDir, 'Orphan01.qcow2');
    writeFileSync(orphan, 'not a record of ours');
    const old = (Date.now() - 2 * 24 * 3600 * 1000) / 1000;
    utimesSync(orphan, old, old);
    const dry = await call(s.url, 'GET', '/api/check');
    expect(dry.body.problems.map((p: { path?: string; repaired: boolean }) => [p.path, p.repaired])).toEqual([[orphan, false]]);

    const r = await call(s.url, 'POST', '/api/check/repair');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.problems.map((p: { path?: string; repaired: boolean }) => [p.path, p.repaired])).toEqual([[orphan, true]]);
    expect(existsSync(orphan)).toBe(false);
    expect((await call(s.url, 'GET', '/api/check')).body.problems).toEqual([]);

    const box = await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'after', sizeBytes: 1 << 20 } });
    expect(box.status, 'the workers were resumed').toBe(200);
  });
});
