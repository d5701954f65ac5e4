import { describe, expect, it } from 'vitest';
import { decideGcClaim } from '../../src/db/rules/gcClaim.js';
import { decideSnapshotRemoval } from '../../src/db/rules/snapshotRemoval.js';
import type { ReaderKind } from '../../src/db/sql/firstReader.js';
import { baseRecord } from './support/records.js';

const base = baseRecord;
const none = () => null;
const reader = (kind: ReaderKind) => () => kind;
/** Fails the test if the rule asks for readers when the row alone decides. */
const notAsked = () => {
  throw new Error('the rule asked for readers although the base row decides');
};

describe('rules: decideGcClaim', () => {
  it.each([
    ['gone', null, notAsked, 'gone'],
    ['snapshot', base({ kind: 'snapshot', name: 's' }), notAsked, 'snapshot'],
    ['rootfs', base({ kind: 'rootfs', name: 'k' }), notAsked, 'rootfs'],
    ['creating', base({ state: 'creating' }), notAsked, 'not_ready'],
    ['a ref', base(), reader('ref'), 'has_refs'],
    ['a box row', base(), reader('box'), 'has_refs'],
    ['a child base', base(), reader('child'), 'has_children'],
  ] as const)('keeps a base with %s', (_label, b, readers, reason) => {
    expect(decideGcClaim(b, readers)).toEqual({ action: 'keep', reason });
  });

  it('claims an unread clone base or tombstoned snapshot, and re-claims a deleting one', () => {
    expect(decideGcClaim(base(), none)).toEqual({ action: 'claim' });
    expect(decideGcClaim(base({ kind: 'snapshot', name: 's', tombstoned: true }), none)).toEqual({ action: 'claim' });
    expect(decideGcClaim(base({ state: 'deleting' }), notAsked)).toEqual({ action: 'reclaim' });
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
