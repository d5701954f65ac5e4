import type { Database } from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isForkpointError } from '../../src/errors.js';
import { forkRecords, nextOp, readyBox, useWriters, removeBoxRecords } from './support/writer.js';

const newWriter = useWriters();

const dump = (db: Database) =>
  ['base_disk', 'base_disk_ref', 'box', 'op'].map((t) => db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all());

describe('writer: bad input gets a clear error and changes nothing', () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['unknown base', { type: 'addRefs', op: 'o1', baseId: 'Zzzzzzzz', boxIds: ['a'] }, 'E_UNKNOWN_BASE', /Zzzzzzzz/],
    ['malformed base id', { type: 'claimGc', baseId: '../../etc' }, 'E_INVALID_ID', /invalid base id/],
    ['malformed base id (long)', { type: 'finishGc', baseId: 'abcdefghi' }, 'E_INVALID_ID', /abcdefghi/],
    ['unknown box', { type: 'removeBox', op: 'o2', boxId: 'ghost' }, 'E_UNKNOWN_BOX', /ghost/],
    ['unknown snapshot', { type: 'removeSnapshot', op: 'o3', baseId: 'Nosnap00', force: false }, 'E_UNKNOWN_SNAPSHOT', /Nosnap00/],
    ['snapshot name with /', { type: 'beginFork', op: 'o4', sourceBox: 'src', kind: 'snapshot', name: 'a/b' }, 'E_INVALID_NAME', /"a\/b"/],
    ['snapshot name ..', { type: 'beginFork', op: 'o5', sourceBox: 'src', kind: 'snapshot', name: '..' }, 'E_INVALID_NAME', /snapshot name/],
    ['snapshot without a name', { type: 'beginFork', op: 'o6', sourceBox: 'src', kind: 'snapshot' }, 'E_INVALID_NAME', /snapshot name/],
    ['box id with path characters', { type: 'createBox', op: 'o7', boxId: 'a/../../b', baseId: null }, 'E_INVALID_NAME', /box id/],
    ['box id ..', { type: 'createBox', op: 'o8', boxId: '..', baseId: null }, 'E_INVALID_NAME', /box id/],
    ['box id reserved', { type: 'createBox', op: 'o9', boxId: '__global__', baseId: null }, 'E_INVALID_NAME', /reserved/],
    ['target with NUL', { type: 'beginFork', op: 'o10', sourceBox: 'src', kind: 'clone_base', targets: ['a\0b'] }, 'E_INVALID_NAME', /NUL/],
    ['missing field', { type: 'addRefs', op: 'o11', baseId: 'Abcdefgh' }, 'E_BAD_PAYLOAD', /boxIds/],
    ['extra field', { type: 'claimGc', baseId: 'Abcdefgh', sneaky: 1 }, 'E_BAD_PAYLOAD', /claimGc/],
    ['empty op', { type: 'removeBox', op: '', boxId: 'src' }, 'E_BAD_PAYLOAD', /op/],
    [
      'rootfs outside bases/',
      { type: 'registerRootfs', op: 'o12', key: 'k', disk: { basePath: '/etc/Abcdefgh.ext4', containerDiskBytes: 1, sizeBytes: 1 } },
      'E_INVALID_ARGUMENT',
      /\/etc\/Abcdefgh\.ext4/,
    ],
    ['commit of an unknown fork', { type: 'commitFork', op: 'nofork', disk: { basePath: '/x', containerDiskBytes: 0, sizeBytes: 0 }, parentId: null }, 'E_CONFLICT', /nofork/],
  ];

  for (const [label, cmd, code, message] of cases) {
    it(label, () => {
      const w = newWriter();
      readyBox(w, 'src');
      forkRecords(w, 'src', { kind: 'snapshot', name: 'keep' });
      const before = dump(w.connection);
      let err: unknown;
      try {
        w.apply(cmd as never);
      } catch (e) {
        err = e;
      }
      expect(isForkpointError(err)).toBe(true);
      expect((err as { code: string }).code).toBe(code);
      expect((err as Error).message).toMatch(message);
      expect(dump(w.connection)).toEqual(before);
    });
  }

  it('addRefs on a base being deleted is refused', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const b = forkRecords(w, 'src');
    removeBoxRecords(w, 'src');
    w.apply({ type: 'claimGc', baseId: b });
    expect(() => w.apply({ type: 'createBox', op: nextOp(), boxId: 'late', baseId: b })).toThrow(/being deleted/);
  });
});
