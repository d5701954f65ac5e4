/**
 * A sweep's result says what it collected: with the GC requests of two
 * removals lost (the Redis call failed, as after a Redis crash), the sweep
 * collects both garbage bases, lists each with the bytes it freed, and leaves
 * a base a box still reads out of its list.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, ForkpointError } from '../../src/errors.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

describe('flows: sweep', () => {
  it('collects the bases whose GC requests were lost, and lists each with the bytes it freed', async () => {
    let loseGcRequests = false;
    const d = open(newHome(), {
      beforePortCall: (call) => {
        if (loseGcRequests && call.port === 'requestGc') throw new ForkpointError(ErrorCodes.REDIS_UNAVAILABLE, 'redis: connection lost (injected)');
      },
    });
    makeBox(d, 'A');
    makeBox(d, 'B');
    makeBox(d, 'kept');
    const a = (await d.run('clone', { op: newOp('clone'), source: 'A', targets: ['A1'] })).result.baseId;
    const b = (await d.run('clone', { op: newOp('clone'), source: 'B', targets: ['B1'] })).result.baseId;
    const read = (await d.run('clone', { op: newOp('clone'), source: 'kept', targets: ['kept1'] })).result.baseId;
    loseGcRequests = true;
    for (const box of ['A', 'A1', 'B', 'B1']) {
      await d.run('remove-box', { op: newOp('rm'), boxId: box }).catch((err: unknown) => expect((err as ForkpointError).code).toBe(ErrorCodes.REDIS_UNAVAILABLE));
    }
    loseGcRequests = false;
    const path = (id: string) => (d.reader.prepare('SELECT base_path AS path FROM base_disk WHERE id = ?').get(id) as { path: string } | undefined)?.path;
    const files = [a, b].map((id) => path(id)!);
    expect(files.every((f) => existsSync(f)), 'the lost requests left both bases').toBe(true);

    const { result } = await d.run('sweep', {});
    expect(result.bases.map((x) => x.baseId).sort()).toEqual([a, b].sort());
    for (const x of result.bases) {
      expect(x.collected).toBe(true);
      expect(x.reclaimedBytes).toBeGreaterThan(0);
    }
    expect(result.collected).toBe(2);
    expect(result.reclaimedBytes).toBe(result.bases.reduce((n, x) => n + x.reclaimedBytes, 0));
    expect(files.some((f) => existsSync(f))).toBe(false);
    expect(path(read), 'a base a box reads stays').toBeDefined();

    // Nothing left: the next sweep says so.
    expect((await d.run('sweep', {})).result).toEqual({ bases: [], collected: 0, reclaimedBytes: 0 });
  });
});
