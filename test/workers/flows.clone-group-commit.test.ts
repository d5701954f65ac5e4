/**
 * Group commit of a clone's children (flows/attach-children.ts). With the
 * 'syncfs' flush a chunk's children are written with no fsync and its refs
 * are committed only after a flush that began once the chunk was written;
 * with 'fsync' each write task flushes its own children and nothing else
 * flushes. Either way every child passes qemu-img check and reads like the
 * source. A failed flush commits nothing it covered and the retry finishes;
 * a cancel commits what was written before undoing the rest.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, ForkpointError } from '../../src/errors.js';
import { findBox } from '../../src/db/sql/findBox.js';
import { boxDiskPath } from '../../src/layout.js';
import type { PortCall } from '../../src/workers/in-process.js';
import { qemuCheck } from '../helpers/qemu.js';
import { guestBytes, makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();
const targets = Array.from({ length: 100 }, (_, i) => `t${i + 1}`); // 4 chunks of at most 32

const name = (c: PortCall) => (c.port === 'files' ? c.task : c.port === 'writer' ? c.command : c.port);

function withFlush(mode: 'syncfs' | 'fsync'): void {
  process.env.FORKPOINT_CHILDREN_FLUSH = mode;
}
afterEach(() => {
  delete process.env.FORKPOINT_CHILDREN_FLUSH;
});

/** The port calls of one clone of S into `targets` (parallelism 2, as a pool would run it). */
async function cloneCalls(home: string, o: { failFlush?: boolean; failCommit?: boolean; cancelAfterWrites?: number } = {}) {
  const calls: string[] = [];
  let writes = 0;
  const d = open(home, {
    fsync: true,
    parallelism: 2,
    beforePortCall: (c) => {
      if (o.failFlush && name(c) === 'flushChildren') throw new ForkpointError(ErrorCodes.IO, 'flush failed (test)');
      if (o.failCommit && name(c) === 'addRefs') throw new ForkpointError(ErrorCodes.IO, 'commit failed (test)');
    },
    afterPortCall: (c) => {
      calls.push(name(c));
      if (name(c) === 'writeChildren') writes++;
    },
    cancelRequested: () => o.cancelAfterWrites !== undefined && writes >= o.cancelAfterWrites,
  });
  makeBox(d, 'S');
  calls.length = 0;
  const op = newOp('clone');
  const outcome = await d.run('clone', { op, source: 'S', targets }).then(
    () => null,
    (e: unknown) => e,
  );
  return { d, calls, op, outcome };
}

function expectChildrenRead(d: ReturnType<typeof open>, ids: string[]): void {
  const source = guestBytes(boxDiskPath(d.layout, 'S'));
  for (const id of ids) {
    const disk = boxDiskPath(d.layout, id);
    const check = qemuCheck(disk);
    expect(check.status, `${id}: ${check.output}`).toBe(0);
    expect(guestBytes(disk), id).toBe(source);
  }
}

describe('flows: a clone commits its children behind their flush', () => {
  it.each(['syncfs', 'fsync'] as const)('%s: no chunk is committed before a flush that began after it was written', async (mode) => {
    withFlush(mode);
    const { d, calls, outcome } = await cloneCalls(newHome());
    expect(outcome).toBeNull();
    expect(calls.filter((c) => c === 'childrenFlushMode')).toHaveLength(1);
    expect(calls.filter((c) => c === 'writeChildren')).toHaveLength(4);
    expect(calls.filter((c) => c === 'addRefs')).toHaveLength(4);
    if (mode === 'fsync') expect(calls).not.toContain('flushChildren'); // each write task flushed its own
    else {
      expect(calls).toContain('flushChildren');
      // Walk the calls: a flush covers the chunks written when it ended (the in-process tasks run
      // whole, so a write that ended before the flush's call is in it); commits never outrun it.
      let written = 0;
      let flushed = 0;
      let committed = 0;
      for (const c of calls) {
        if (c === 'writeChildren') written++;
        if (c === 'flushChildren') flushed = written;
        if (c === 'addRefs') expect(++committed, `commit ${committed} of ${flushed} flushed: ${calls.join(' ')}`).toBeLessThanOrEqual(flushed);
      }
    }
    for (const id of targets) expect(findBox(d.reader, id)?.state, id).toBe('ready');
    expectChildrenRead(d, ['t1', 't33', 't100']);
  });

  it('syncfs: a failed flush commits none of its chunks, and the same request again makes them all', async () => {
    withFlush('syncfs');
    const home = newHome();
    const { d, calls, op, outcome } = await cloneCalls(home, { failFlush: true });
    expect(outcome).toMatchObject({ code: ErrorCodes.IO });
    expect(calls).not.toContain('addRefs');
    for (const id of targets) expect(findBox(d.reader, id)?.state ?? 'none', id).not.toBe('ready');
    d.close();
    const again = open(home, { fsync: true, parallelism: 2 });
    await again.run('clone', { op, source: 'S', targets });
    for (const id of targets) expect(findBox(again.reader, id)?.state, id).toBe('ready');
    expectChildrenRead(again, ['t1', 't64', 't100']);
  });

  it('syncfs: after a failed commit no later group commits (their flushes may have run), and the same request again makes them all', async () => {
    withFlush('syncfs');
    const home = newHome();
    const { d, op, outcome } = await cloneCalls(home, { failCommit: true });
    expect(outcome).toMatchObject({ code: ErrorCodes.IO, message: expect.stringContaining('commit failed (test)') });
    for (const id of targets) expect(findBox(d.reader, id)?.state ?? 'none', id).not.toBe('ready');
    d.close();
    const again = open(home, { fsync: true, parallelism: 2 });
    await again.run('clone', { op, source: 'S', targets });
    for (const id of targets) expect(findBox(again.reader, id)?.state, id).toBe('ready');
    expectChildrenRead(again, ['t1', 't64', 't100']);
  });

  it('syncfs: a cancel commits every chunk already written, then undoes the rest', async () => {
    withFlush('syncfs');
    const { d, calls, outcome } = await cloneCalls(newHome(), { cancelAfterWrites: 2 });
    expect(outcome).toMatchObject({ code: ErrorCodes.CANCELLED });
    const made = (outcome as ForkpointError).details.made as number;
    const written = calls.filter((c) => c === 'writeChildren').length;
    expect(made).toBe(Math.min(written * 32, targets.length));
    expect(made).toBeGreaterThan(0);
    const ready = targets.filter((id) => findBox(d.reader, id)?.state === 'ready');
    expect(ready).toHaveLength(made);
    expect(targets.filter((id) => findBox(d.reader, id) !== null)).toEqual(ready); // no half-made row left
    expectChildrenRead(d, ready.slice(-1));
  });
});
