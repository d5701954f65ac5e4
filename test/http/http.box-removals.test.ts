/** POST /api/boxes/removals: many boxes as one remove-box job, an outcome per box; DELETE /api/boxes/:id still removes one. */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxDir } from '../../src/layout.js';
import { call, startTestService, type TestService } from './support.js';

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
  for (const boxId of ['r1', 'r2', 'r3', 'r4']) {
    const made = await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId, sizeBytes: 1 << 20 } });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
  }
});
afterAll(async () => {
  await s?.close();
});

describe('box removal over HTTP', () => {
  it('removes many boxes in one job and reports each (an unknown one is an outcome, not a refusal)', async () => {
    const r = await call(s.url, 'POST', '/api/boxes/removals?wait=1', { body: { boxIds: ['r2', 'nosuch', 'r1'] } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ name: 'remove-box', state: 'completed' });
    expect(r.body.result.outcomes.map((o: { boxId: string; outcome: string }) => [o.boxId, o.outcome])).toEqual([
      ['r2', 'removed'],
      ['nosuch', 'unknown'],
      ['r1', 'removed'],
    ]);
    for (const id of ['r1', 'r2']) expect(existsSync(boxDir(s.tp.layout, id)), id).toBe(false);
    const left = await call(s.url, 'GET', '/api/boxes');
    expect(left.body.boxes.map((b: { id: string }) => b.id).sort()).toEqual(['r3', 'r4']);
  });

  it('refuses a bad body before queueing anything, naming the field', async () => {
    for (const body of [{ boxIds: [] }, { boxIds: ['r3', 'r3'] }, { boxIds: ['../r3'] }, { boxIds: ['r3'], extra: 1 }]) {
      const r = await call(s.url, 'POST', '/api/boxes/removals', { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    expect(existsSync(boxDir(s.tp.layout, 'r3'))).toBe(true);
  });

  it('DELETE /api/boxes/:id still removes one box', async () => {
    const r = await call(s.url, 'DELETE', '/api/boxes/r3?wait=1');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.result).toMatchObject({ boxId: 'r3' });
    expect(existsSync(boxDir(s.tp.layout, 'r3'))).toBe(false);
  });
});
