import { describe, expect, it } from 'vitest';
import { decideGcClaim } from '../../src/db/rules/gcClaim.js';
import { decideSnapshotRemoval } from '../../src/db/rules/snapshotRemoval.js';
import type { BaseDiskRecord } from '../../src/db/types.js';

const base = (over: Partial<BaseDiskRecord> = {}): BaseDiskRecord => ({
  id: 'Abcdefgh',
  sourceBoxId: 'src',
  name: null,
  kind: 'clone_base',
  state: 'ready',
  basePath: '/h/bases/Abcdefgh.qcow2',
  containerDiskBytes: 0,
  sizeBytes: 0,
  parentId: null,
  opId: 'op',
  tombstoned: false,
  createdAt: 0,
  ...over,
});
const none = { refs: 0, boxes: 0, children: 0 };

describe('rules: decideGcClaim', () => {
  it.each([
    ['gone', null, none, 'gone'],
    ['snapshot', base({ kind: 'snapshot', name: 's' }), none, 'snapshot'],
    ['rootfs', base({ kind: 'rootfs', name: 'k' }), none, 'rootfs'],
    ['creating', base({ state: 'creating' }), none, 'not_ready'],
    ['a ref', base(), { ...none, refs: 1 }, 'has_refs'],
    ['a box row', base(), { ...none, boxes: 1 }, 'has_refs'],
    ['a child base', base(), { ...none, children: 1 }, 'has_children'],
  ] as const)('keeps a base with %s', (_label, b, readers, reason) => {
    expect(decideGcClaim(b, readers)).toEqual({ action: 'keep', reason });
  });

  it('claims an unread clone base or tombstoned snapshot, and re-claims a deleting one', () => {
    expect(decideGcClaim(base(), none)).toEqual({ action: 'claim' });
    expect(decideGcClaim(base({ kind: 'snapshot', name: 's', tombstoned: true }), none)).toEqual({ action: 'claim' });
    expect(decideGcClaim(base({ state: 'deleting' }), none)).toEqual({ action: 'reclaim' });
    expect(decideGcClaim(base({ kind: 'rootfs', name: 'k' }), none, { explicit: true })).toEqual({ action: 'claim' });
  });
});

describe('rules: decideSnapshotRemoval', () => {
  it('refuses others unless forced, tombstones while read, claims when unread', () => {
    expect(decideSnapshotRemoval({ otherBoxes: ['b'], childBases: ['C'], sourceReads: true }, false)).toEqual({
      action: 'refuse',
      dependents: ['box b', 'base C'],
    });
    expect(decideSnapshotRemoval({ otherBoxes: ['b'], childBases: [], sourceReads: false }, true)).toEqual({ action: 'tombstone' });
    expect(decideSnapshotRemoval({ otherBoxes: [], childBases: [], sourceReads: true }, false)).toEqual({ action: 'tombstone' });
    expect(decideSnapshotRemoval({ otherBoxes: [], childBases: [], sourceReads: false }, false)).toEqual({ action: 'claim' });
  });
});
