/**
 * Cancelling, through the in-process driver (its `cancelRequested` hook; the queued
 * driver reads a Redis key, see test/pipeline/pipeline.cancel.test.ts): a clone asked to
 * stop after its first chunk keeps that chunk, undoes the other targets (rows and
 * folders), and fails with E_CANCELLED; recovery finds nothing to do. Asked before it
 * begins, it forks nothing. Run again under the same op (a rerun), it makes the rest.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { boxDiskPath } from '../../src/layout.js';
import { recover } from '../../src/workers/recovery/index.js';
import { qemuCheck } from '../helpers/qemu.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();
const targets = Array.from({ length: 100 }, (_, i) => `t${i + 1}`);

describe('flows: cancelling a clone', () => {
  it('stops between chunks: the first chunk stays ready, the rest is undone; a rerun of the op makes the rest', async () => {
    const home = newHome();
    let armed = true;
    let stop = false;
    const d = open(home, { fsync: false, cancelRequested: () => stop, progress: (p) => void (stop ||= armed && p.done >= 32) });
    makeBox(d, 'S');
    const op = newOp('clone');
    const err = await d.run('clone', { op, source: 'S', targets }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCodes.CANCELLED, details: { op, made: 32, undone: 68 } });
    const boxes = d.reader.prepare("SELECT id, state FROM box WHERE id != 'S' ORDER BY rowid").all() as { id: string; state: string }[];
    expect(boxes).toEqual(targets.slice(0, 32).map((id) => ({ id, state: 'ready' })));
    expect(readdirSync(d.layout.boxesDir).sort()).toEqual(['S', ...targets.slice(0, 32)].sort());
    for (const id of ['S', 't1', 't32']) expect(qemuCheck(boxDiskPath(d.layout, id)).status, id).toBe(0);
    await d.drainGc();
    expect((await recover(home, { repair: false })).problems).toEqual([]);

    armed = false;
    stop = false;
    const again = await d.run('clone', { op, source: 'S', targets: targets });
    expect(again.result.targets).toEqual(targets);
    expect((d.reader.prepare("SELECT count(*) AS n FROM box WHERE state = 'ready'").get() as { n: number }).n).toBe(101);
  });

  it('asked before it begins: nothing is forked or made', async () => {
    const home = newHome();
    const d = open(home, { fsync: false, cancelRequested: () => true });
    makeBox(d, 'S');
    await expect(d.run('clone', { op: newOp('clone'), source: 'S', targets: ['a'] })).rejects.toMatchObject({ code: ErrorCodes.CANCELLED });
    expect(readdirSync(d.layout.basesDir)).toEqual([]);
    expect((d.reader.prepare('SELECT count(*) AS n FROM base_disk').get() as { n: number }).n).toBe(0);
  });
});
