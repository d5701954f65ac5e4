import type { Database } from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { WriterCommand } from '../../src/db/types.js';
import type { DbWriter } from '../../src/db/writer.js';
import { nextOp, readyBox, useWriters } from './support/writer.js';

const newWriter = useWriters();

/** Every row of every table, to show a replay changed nothing. */
function snapshotTables(db: Database): unknown {
  return Object.fromEntries(
    ['base_disk', 'base_disk_ref', 'box', 'op'].map((t) => [t, db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all()]),
  );
}

function expectReplayIsNoop(w: DbWriter, cmd: WriterCommand): void {
  const first = w.apply(cmd);
  const before = snapshotTables(w.connection);
  const again = w.apply(cmd);
  expect(again).toEqual(JSON.parse(JSON.stringify(first)));
  expect(snapshotTables(w.connection)).toEqual(before);
}

describe('writer: each command re-applied with the same op returns the first result and changes nothing', () => {
  it('box and fork commands', () => {
    const w = newWriter();
    expectReplayIsNoop(w, { type: 'createBox', op: nextOp(), boxId: 'src', baseId: null });
    expectReplayIsNoop(w, { type: 'commitBox', op: nextOp(), boxId: 'src' });
    const op = nextOp();
    const beginCmd: WriterCommand = { type: 'beginFork', op, sourceBox: 'src', kind: 'clone_base', targets: ['t1', 't2'] };
    const begun = w.apply(beginCmd) as { baseId: string; basePath: string };
    expect(w.apply(beginCmd)).toEqual(begun); // no second id minted
    expect(w.connection.prepare('SELECT count(*) FROM base_disk').pluck().get()).toBe(1);
    expectReplayIsNoop(w, {
      type: 'commitFork',
      op,
      disk: { basePath: begun.basePath, containerDiskBytes: 5, sizeBytes: 6 },
      parentId: null,
    });
    expectReplayIsNoop(w, { type: 'addRefs', op: nextOp(), baseId: begun.baseId, boxIds: ['t1', 't2'] });
    expectReplayIsNoop(w, { type: 'removeBox', op: nextOp(), boxId: 't1' });
    expectReplayIsNoop(w, { type: 'createBox', op: nextOp(), boxId: 'gone', baseId: begun.baseId });
  });

  it('aborts change nothing the second time (they are idempotent by effect, never replayed)', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const op = nextOp();
    w.apply({ type: 'beginFork', op, sourceBox: 'src', kind: 'snapshot', name: 'x' });
    w.apply({ type: 'abortFork', op });
    let before = snapshotTables(w.connection);
    expect(w.apply({ type: 'abortFork', op }).baseId).not.toBeNull();
    expect(snapshotTables(w.connection)).toEqual(before);
    w.apply({ type: 'createBox', op: nextOp(), boxId: 'gone', baseId: null });
    w.apply({ type: 'abortBox', op: nextOp(), boxId: 'gone' });
    before = snapshotTables(w.connection);
    expect(w.apply({ type: 'abortBox', op: nextOp(), boxId: 'gone' })).toEqual({ boxId: 'gone', touchedBases: [] });
    expect(snapshotTables(w.connection)).toEqual(before);
  });
});

describe('writer: an aborted operation retried under the same op starts over', () => {
  it('beginFork after abortFork mints a new base instead of replaying the aborted one', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const op = nextOp();
    const cmd: WriterCommand = { type: 'beginFork', op, sourceBox: 'src', kind: 'clone_base', targets: ['t1'] };
    const first = w.apply(cmd);
    w.apply({ type: 'abortFork', op });
    const again = w.apply(cmd);
    expect(again.baseId).not.toBe(first.baseId);
    const count = (sql: string) => w.connection.prepare(sql).pluck().get();
    expect(count(`SELECT state FROM base_disk WHERE id = '${again.baseId}'`)).toBe('creating');
    expect(count(`SELECT state FROM box WHERE id = 't1'`)).toBe('creating');
    // ... and a second failure aborts the new attempt too.
    w.apply({ type: 'abortFork', op });
    expect(count('SELECT count(*) FROM base_disk')).toBe(0);
    expect(count(`SELECT count(*) FROM box WHERE id = 't1'`)).toBe(0);
  });

  it('createBox after abortBox registers the box again', () => {
    const w = newWriter();
    const op = nextOp();
    w.apply({ type: 'createBox', op, boxId: 'b', baseId: null });
    w.apply({ type: 'abortBox', op, boxId: 'b' });
    expect(w.apply({ type: 'createBox', op, boxId: 'b', baseId: null }).state).toBe('creating');
    expect(w.connection.prepare(`SELECT count(*) FROM box WHERE id = 'b'`).pluck().get()).toBe(1);
  });

  it('snapshot and rootfs commands', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const op = nextOp();
    const begun = w.apply({ type: 'beginFork', op, sourceBox: 'src', kind: 'snapshot', name: 's1' });
    w.apply({ type: 'commitFork', op, disk: { basePath: begun.basePath, containerDiskBytes: 1, sizeBytes: 1 }, parentId: null });
    expectReplayIsNoop(w, { type: 'removeSnapshot', op: nextOp(), baseId: begun.baseId, force: false });
    expectReplayIsNoop(w, {
      type: 'registerRootfs',
      op: nextOp(),
      key: 'k1',
      disk: { basePath: `${w.layout.basesDir}/RootfsK1.ext4`, containerDiskBytes: 1, sizeBytes: 1 },
    });
    expectReplayIsNoop(w, { type: 'removeRootfs', op: nextOp(), baseId: 'RootfsK1' });
  });

  it('refuses an op id reused for different arguments, changing nothing', () => {
    const w = newWriter();
    const op = nextOp();
    w.apply({ type: 'createBox', op, boxId: 'a', baseId: null });
    const before = snapshotTables(w.connection);
    expect(() => w.apply({ type: 'createBox', op, boxId: 'b', baseId: null })).toThrow(/already ran createBox with different/);
    expect(snapshotTables(w.connection)).toEqual(before);
  });
});
