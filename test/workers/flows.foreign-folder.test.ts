/**
 * The flows hold box folders to one rule: a folder in boxes/ that no record
 * owns is someone else's, so a clone target or a box made from a snapshot is
 * refused there, a removal of a box with refs but no row leaves it alone, and
 * their files survive. A step that fails leaves the boxes it journalled for the
 * retry (the same op finishes them) or for recovery (which removes the folders
 * it made and their rows), so the ids stay usable.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, ForkpointError } from '../../src/errors.js';
import { dependentBoxes } from '../../src/db/sql/dependentBoxes.js';
import { findBox } from '../../src/db/sql/findBox.js';
import { listBases } from '../../src/db/sql/listBases.js';
import { boxDir } from '../../src/layout.js';
import type { PortCall } from '../../src/workers/in-process.js';
import { recover } from '../../src/workers/recovery/index.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

function foreignFolder(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'notes.txt');
  writeFileSync(file, 'not forkpoint data\n');
  return file;
}

/** A beforePortCall hook that fails the next writeChildren file task once (an I/O error), while `armed.on`. */
function failWriteChildrenOnce(): { armed: { on: boolean }; beforePortCall: (call: PortCall) => void } {
  const armed = { on: false };
  return {
    armed,
    beforePortCall: (call) => {
      if (armed.on && call.port === 'files' && call.task === 'writeChildren') {
        armed.on = false;
        throw new ForkpointError(ErrorCodes.IO, 'writeChildren failed: EIO (injected)');
      }
    },
  };
}

describe('flows: a box folder no record owns', () => {
  it('clone refuses it as a target before forking; nothing is recorded and the file survives', async () => {
    const d = open(newHome());
    makeBox(d, 'S');
    const file = foreignFolder(boxDir(d.layout, 'T'));
    await expect(d.run('clone', { op: newOp('clone'), source: 'S', targets: ['ok', 'T'] })).rejects.toThrow(
      expect.objectContaining({ code: 'E_ALREADY_EXISTS', details: expect.objectContaining({ id: 'T' }) }),
    );
    expect(readFileSync(file, 'utf8')).toBe('not forkpoint data\n');
    expect(findBox(d.reader, 'T')).toBeNull();
    expect(findBox(d.reader, 'ok')).toBeNull();
    expect(existsSync(boxDir(d.layout, 'ok'))).toBe(false);
    expect(listBases(d.reader, {})).toEqual([]);
  });

  it('snapshot-clone refuses it; the file survives and the snapshot gains no reader', async () => {
    const d = open(newHome());
    makeBox(d, 'S');
    const { baseId } = (await d.run('snapshot-create', { op: newOp('snap'), boxId: 'S', name: 'base' })).result;
    const file = foreignFolder(boxDir(d.layout, 'B'));
    await expect(d.run('snapshot-clone', { op: newOp('sclone'), name: 'base', boxId: 'S', target: 'B' })).rejects.toThrow(
      expect.objectContaining({ code: 'E_ALREADY_EXISTS' }),
    );
    expect(readFileSync(file, 'utf8')).toBe('not forkpoint data\n');
    expect(findBox(d.reader, 'B')).toBeNull();
    expect(dependentBoxes(d.reader, baseId)).toEqual(['S']);
  });

  it('removing a box that has refs but no row leaves the folder of that name alone', async () => {
    const d = open(newHome());
    makeBox(d, 'S');
    const { baseId } = (await d.run('clone', { op: newOp('clone'), source: 'S', targets: ['C'] })).result;
    d.writer.apply({ type: 'addRefs', op: 'ext-ref', baseId, boxIds: ['X'] }); // a box this home does not manage
    const file = foreignFolder(boxDir(d.layout, 'X'));
    await d.run('remove-box', { op: newOp('rm'), boxId: 'X' });
    expect(readFileSync(file, 'utf8')).toBe('not forkpoint data\n');
  });
});

describe('flows: a step that fails leaves its boxes to the retry or to recovery', () => {
  it('clone: the same op retried finishes the targets', async () => {
    const fail = failWriteChildrenOnce();
    const d = open(newHome(), { beforePortCall: fail.beforePortCall });
    makeBox(d, 'S');
    const request = { op: newOp('clone'), source: 'S', targets: ['C1', 'C2'] };
    fail.armed.on = true;
    await expect(d.run('clone', request)).rejects.toThrow(/writeChildren failed/);
    expect(['C1', 'C2'].map((id) => findBox(d.reader, id)?.state)).toEqual(['creating', 'creating']);
    await d.run('clone', request);
    expect(['C1', 'C2'].map((id) => findBox(d.reader, id)?.state)).toEqual(['ready', 'ready']);
  });

  it('clone: recovery removes the target folders and rows, and the ids can be used again', async () => {
    const home = newHome();
    const fail = failWriteChildrenOnce();
    const d = open(home, { beforePortCall: fail.beforePortCall });
    makeBox(d, 'S');
    fail.armed.on = true;
    await expect(d.run('clone', { op: newOp('clone'), source: 'S', targets: ['C1', 'C2'] })).rejects.toThrow(/writeChildren failed/);
    d.close();
    const report = await recover(home, { fsync: false });
    expect(report.problems.filter((p) => !p.repaired)).toEqual([]);
    const again = open(home);
    for (const id of ['C1', 'C2']) {
      expect(findBox(again.reader, id)).toBeNull();
      expect(existsSync(boxDir(again.layout, id))).toBe(false);
    }
    await again.run('clone', { op: newOp('clone'), source: 'S', targets: ['C1', 'C2'] });
    expect(['C1', 'C2'].map((id) => findBox(again.reader, id)?.state)).toEqual(['ready', 'ready']);
  });

  it('snapshot-clone: the same op retried finishes the box', async () => {
    const fail = failWriteChildrenOnce();
    const d = open(newHome(), { beforePortCall: fail.beforePortCall });
    makeBox(d, 'S');
    await d.run('snapshot-create', { op: newOp('snap'), boxId: 'S', name: 'base' });
    const request = { op: newOp('sclone'), name: 'base', boxId: 'S', target: 'B' };
    fail.armed.on = true;
    await expect(d.run('snapshot-clone', request)).rejects.toThrow(/writeChildren failed/);
    expect(findBox(d.reader, 'B')?.state).toBe('creating');
    await d.run('snapshot-clone', request);
    expect(findBox(d.reader, 'B')?.state).toBe('ready');
  });

  it('snapshot-clone: recovery removes the folder and the row, and the id can be used again', async () => {
    const home = newHome();
    const fail = failWriteChildrenOnce();
    const d = open(home, { beforePortCall: fail.beforePortCall });
    makeBox(d, 'S');
    await d.run('snapshot-create', { op: newOp('snap'), boxId: 'S', name: 'base' });
    fail.armed.on = true;
    await expect(d.run('snapshot-clone', { op: newOp('sclone'), name: 'base', boxId: 'S', target: 'B' })).rejects.toThrow(/writeChildren failed/);
    d.close();
    const report = await recover(home, { fsync: false });
    expect(report.problems.filter((p) => !p.repaired)).toEqual([]);
    const again = open(home);
    expect(findBox(again.reader, 'B')).toBeNull();
    expect(existsSync(boxDir(again.layout, 'B'))).toBe(false);
    await again.run('snapshot-clone', { op: newOp('sclone'), name: 'base', boxId: 'S', target: 'B' });
    expect(findBox(again.reader, 'B')?.state).toBe('ready');
  });
});
