import { describe, expect, it } from 'vitest';
import { isForkpointError } from '../../src/errors.js';
import { isBaseId } from '../../src/ids.js';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { findBox } from '../../src/db/sql/findBox.js';
import { dependentBoxes } from '../../src/db/sql/dependentBoxes.js';
import { listPendingOps } from '../../src/db/sql/listPendingOps.js';
import { forkRecords, nextOp, readyBox, useWriters } from './support/writer.js';

const newWriter = useWriters();

describe('writer: fork lifecycle', () => {
  it('beginFork journals a creating base and creating targets before any file moves', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const op = nextOp();
    const begun = w.apply({ type: 'beginFork', op, sourceBox: 'src', kind: 'clone_base', targets: ['c1', 'c2'] });
    expect(isBaseId(begun.baseId)).toBe(true);
    expect(begun.basePath).toBe(`${w.layout.basesDir}/${begun.baseId}.qcow2`);
    expect(begun.sourceDiskPath).toBe(`${w.layout.boxesDir}/src/disks/container.qcow2`);
    expect(begun.targets.map((t) => t.boxId)).toEqual(['c1', 'c2']);
    const base = findBaseById(w.connection, begun.baseId)!;
    expect(base.state).toBe('creating');
    expect(base.opId).toBe(op);
    expect(findBox(w.connection, 'c1')).toMatchObject({ state: 'creating', baseId: begun.baseId });
    expect(listPendingOps(w.connection).map((e) => [e.opId, e.command])).toEqual([[op, 'beginFork']]);
  });

  it('commitFork makes the base ready, refs it for the source box and re-points the box', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const first = forkRecords(w, 'src');
    const op = nextOp();
    const begun = w.apply({ type: 'beginFork', op, sourceBox: 'src', kind: 'snapshot', name: 'v1' });
    const disk = { basePath: begun.basePath, containerDiskBytes: 64 << 20, sizeBytes: 8192 };
    const record = w.apply({ type: 'commitFork', op, disk, parentId: first });
    expect(record).toMatchObject({ id: begun.baseId, state: 'ready', kind: 'snapshot', name: 'v1', parentId: first, ...disk });
    expect(dependentBoxes(w.connection, begun.baseId)).toEqual(['src']);
    expect(findBox(w.connection, 'src')!.baseId).toBe(begun.baseId);
    expect(listPendingOps(w.connection)).toEqual([]);
  });

  it('abortFork removes the creating base and its targets; aborting a committed fork is refused', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const op = nextOp();
    const begun = w.apply({ type: 'beginFork', op, sourceBox: 'src', kind: 'clone_base', targets: ['t'] });
    expect(w.apply({ type: 'abortFork', op })).toEqual({ baseId: begun.baseId });
    expect(findBaseById(w.connection, begun.baseId)).toBeNull();
    expect(findBox(w.connection, 't')).toBeNull();
    expect(w.apply({ type: 'abortFork', op: nextOp() })).toEqual({ baseId: null });

    const op2 = nextOp();
    const b2 = w.apply({ type: 'beginFork', op: op2, sourceBox: 'src', kind: 'clone_base' });
    w.apply({ type: 'commitFork', op: op2, disk: { basePath: b2.basePath, containerDiskBytes: 1, sizeBytes: 1 }, parentId: null });
    expect(() => w.apply({ type: 'abortFork', op: op2 })).toThrow(/already committed/);
  });

  it('refuses a second fork of a box while one is in progress, and removal of that box', () => {
    const w = newWriter();
    readyBox(w, 'src');
    w.apply({ type: 'beginFork', op: nextOp(), sourceBox: 'src', kind: 'clone_base' });
    expect(() => w.apply({ type: 'beginFork', op: nextOp(), sourceBox: 'src', kind: 'clone_base' })).toThrow(
      /fork of it is in progress/,
    );
    expect(() => w.apply({ type: 'removeBox', op: nextOp(), boxId: 'src' })).toThrow(/in progress/);
  });

  it('refuses unknown source boxes, duplicate snapshot names and existing targets', () => {
    const w = newWriter();
    readyBox(w, 'src');
    readyBox(w, 'other');
    forkRecords(w, 'src', { kind: 'snapshot', name: 'v1' });
    const codeOf = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (err) {
        return isForkpointError(err) ? err.code : 'not a ForkpointError';
      }
      return undefined;
    };
    expect(codeOf(() => w.apply({ type: 'beginFork', op: nextOp(), sourceBox: 'nope', kind: 'clone_base' }))).toBe('E_UNKNOWN_BOX');
    expect(codeOf(() => w.apply({ type: 'beginFork', op: nextOp(), sourceBox: 'src', kind: 'snapshot', name: 'v1' }))).toBe(
      'E_ALREADY_EXISTS',
    );
    expect(
      codeOf(() => w.apply({ type: 'beginFork', op: nextOp(), sourceBox: 'src', kind: 'clone_base', targets: ['other'] })),
    ).toBe('E_ALREADY_EXISTS');
    // the same name on another box is fine
    forkRecords(w, 'other', { kind: 'snapshot', name: 'v1' });
  });

  it('addRefs marks clone targets ready and counts only new refs', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const op = nextOp();
    const begun = w.apply({ type: 'beginFork', op, sourceBox: 'src', kind: 'clone_base', targets: ['a', 'b'] });
    w.apply({ type: 'commitFork', op, disk: { basePath: begun.basePath, containerDiskBytes: 1, sizeBytes: 1 }, parentId: null });
    expect(w.apply({ type: 'addRefs', op: nextOp(), baseId: begun.baseId, boxIds: ['a', 'b'] })).toEqual({
      baseId: begun.baseId,
      added: 2,
    });
    expect(w.apply({ type: 'addRefs', op: nextOp(), baseId: begun.baseId, boxIds: ['b'] }).added).toBe(0);
    expect(findBox(w.connection, 'a')).toMatchObject({ state: 'ready', baseId: begun.baseId });
    expect(dependentBoxes(w.connection, begun.baseId)).toEqual(['a', 'b', 'src']);
  });

  it('removeBox drops refs, keeps the row removing (the id stays taken) until finishRemoveBox, and names the bases that lost a ref', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const b1 = forkRecords(w, 'src', { targets: ['c'] });
    const b2 = forkRecords(w, 'src', { parentId: b1 });
    const removed = w.apply({ type: 'removeBox', op: nextOp(), boxId: 'src' });
    expect(removed.touchedBases).toEqual([b1, b2].sort());
    expect(removed.diskPath).toBe(`${w.layout.boxesDir}/src/disks/container.qcow2`);
    expect(findBox(w.connection, 'src')).toMatchObject({ state: 'removing' });
    expect(dependentBoxes(w.connection, b1)).toEqual(['c']);
    // While it is removing, nothing can take the id or use the box.
    expect(() => w.apply({ type: 'createBox', op: nextOp(), boxId: 'src', baseId: null })).toThrow(/already exists/);
    expect(() => w.apply({ type: 'commitBox', op: nextOp(), boxId: 'src' })).toThrow();
    // A second removal of it is accepted (it finishes the same removal).
    expect(w.apply({ type: 'removeBox', op: nextOp(), boxId: 'src' }).touchedBases).toEqual([b2]);
    expect(w.apply({ type: 'finishRemoveBox', boxId: 'src' })).toEqual({ boxId: 'src', removed: true });
    expect(findBox(w.connection, 'src')).toBeNull();
    expect(w.apply({ type: 'finishRemoveBox', boxId: 'src' })).toEqual({ boxId: 'src', removed: false });
    expect(() => w.apply({ type: 'removeBox', op: nextOp(), boxId: 'src' })).toThrow(/unknown box src/);
  });

  it('finishRemoveBox leaves a box that is not removing alone', () => {
    const w = newWriter();
    readyBox(w, 'live');
    expect(w.apply({ type: 'finishRemoveBox', boxId: 'live' })).toEqual({ boxId: 'live', removed: false });
    expect(findBox(w.connection, 'live')).toMatchObject({ state: 'ready' });
  });
});
