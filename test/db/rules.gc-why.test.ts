/**
 * explainBase over record graphs: who reads a base (refs, box disks, bases
 * whose chains pass through it), which rule keeps it, and what would free it,
 * the last checked by the GC plan over the graph without those readers.
 */
import { describe, expect, it } from 'vitest';
import { explainBase, type WhyGraph } from '../../src/db/rules/gcWhy.js';
import type { BaseDiskRecord } from '../../src/db/types.js';
import { baseRecord } from './support/records.js';

const base = (id: string, over: Partial<BaseDiskRecord> = {}) => baseRecord({ id, ...over });
const snap = (id: string, name: string, over: Partial<BaseDiskRecord> = {}) => base(id, { kind: 'snapshot', name, sourceBoxId: 'S', ...over });
const box = (id: string, baseId: string | null) => ({ id, baseId });
const ref = (baseId: string, boxId: string) => ({ baseId, boxId });

interface Case {
  graph: WhyGraph;
  ask: string;
  decision: ReturnType<typeof explainBase> extends infer W ? (W extends { decision: infer D } ? D : never) : never;
  collectable: boolean;
  kindRule: 'snapshot' | 'rootfs' | null;
  boxes: string[];
  bases: string[];
  /** removeBoxes / removeSnapshots / removeRootfs, or null when nothing can be said (not ready). */
  free: { boxes: string[]; snapshots: string[]; rootfs: string | null } | null;
}

const cases: [string, Case][] = [
  [
    'a clone base two boxes hold refs to',
    {
      graph: { bases: [base('B1')], boxes: [box('S', 'B1'), box('A', 'B1')], refs: [ref('B1', 'S'), ref('B1', 'A')] },
      ask: 'B1',
      decision: { action: 'keep', reason: 'has_refs' },
      collectable: false,
      kindRule: null,
      boxes: ['A', 'S'],
      bases: [],
      free: { boxes: ['A', 'S'], snapshots: [], rootfs: null },
    },
  ],
  [
    'a clone base read only through a snapshot forked on it (the refs alone miss it)',
    {
      graph: { bases: [base('B1'), snap('B2', 'v1', { parentId: 'B1' })], boxes: [box('S', 'B2')], refs: [ref('B2', 'S')] },
      ask: 'B1',
      decision: { action: 'keep', reason: 'has_children' },
      collectable: false,
      kindRule: null,
      boxes: ['S'],
      bases: ['B2'],
      free: { boxes: ['S'], snapshots: ['B2'], rootfs: null },
    },
  ],
  [
    'a snapshot nothing reads: kept by its kind',
    {
      graph: { bases: [snap('B2', 'v1')], boxes: [], refs: [] },
      ask: 'B2',
      decision: { action: 'keep', reason: 'snapshot' },
      collectable: false,
      kindRule: 'snapshot',
      boxes: [],
      bases: [],
      free: { boxes: [], snapshots: ['B2'], rootfs: null },
    },
  ],
  [
    'a removed (tombstoned) snapshot still read: kept by its reader, not its kind',
    {
      graph: { bases: [snap('B2', 'v1', { tombstoned: true })], boxes: [box('C', 'B2')], refs: [ref('B2', 'C')] },
      ask: 'B2',
      decision: { action: 'keep', reason: 'has_refs' },
      collectable: false,
      kindRule: null,
      boxes: ['C'],
      bases: [],
      free: { boxes: ['C'], snapshots: [], rootfs: null },
    },
  ],
  [
    'a rootfs image boxes run on',
    {
      graph: { bases: [base('R1', { kind: 'rootfs', name: 'debian-12', sourceBoxId: '__global__', basePath: '/h/bases/R1.ext4' })], boxes: [box('X', 'R1')], refs: [ref('R1', 'X')] },
      ask: 'R1',
      decision: { action: 'keep', reason: 'rootfs' },
      collectable: false,
      kindRule: 'rootfs',
      boxes: ['X'],
      bases: [],
      free: { boxes: ['X'], snapshots: [], rootfs: 'debian-12' },
    },
  ],
  [
    'an unread clone base: the next GC takes it',
    {
      graph: { bases: [base('B1')], boxes: [box('K', null)], refs: [] },
      ask: 'B1',
      decision: { action: 'claim' },
      collectable: true,
      kindRule: null,
      boxes: [],
      bases: [],
      free: { boxes: [], snapshots: [], rootfs: null },
    },
  ],
  [
    'a clone base whose only reader is an unread clone base: freed by the cascade',
    {
      graph: { bases: [base('B1'), base('B2', { parentId: 'B1' })], boxes: [], refs: [] },
      ask: 'B1',
      decision: { action: 'keep', reason: 'has_children' },
      collectable: true,
      kindRule: null,
      boxes: [],
      bases: ['B2'],
      free: { boxes: [], snapshots: [], rootfs: null },
    },
  ],
  [
    'three levels: a box reads the top; a snapshot in the middle must go too',
    {
      graph: {
        bases: [base('B0'), snap('B1', 'mid', { parentId: 'B0' }), base('B2', { parentId: 'B1' }), base('B3', { parentId: 'B0' })],
        boxes: [box('X', 'B2'), box('Y', 'B3'), box('Z', 'B2')],
        refs: [ref('B2', 'X'), ref('B1', 'X'), ref('B3', 'Y'), ref('B2', 'Z')],
      },
      ask: 'B0',
      decision: { action: 'keep', reason: 'has_children' },
      collectable: false,
      kindRule: null,
      boxes: ['X', 'Y', 'Z'],
      bases: ['B1', 'B3', 'B2'],
      free: { boxes: ['X', 'Y', 'Z'], snapshots: ['B1'], rootfs: null },
    },
  ],
  [
    'a base still being created: no plan until it is ready',
    {
      graph: { bases: [base('B1', { state: 'creating' })], boxes: [box('T', 'B1')], refs: [] },
      ask: 'B1',
      decision: { action: 'keep', reason: 'not_ready' },
      collectable: false,
      kindRule: null,
      boxes: ['T'],
      bases: [],
      free: null,
    },
  ],
];

describe('rules: explainBase', () => {
  it.each(cases)('%s', (_label, c) => {
    const why = explainBase(c.graph, c.ask)!;
    expect(why.base.id).toBe(c.ask);
    expect(why.decision).toEqual(c.decision);
    expect(why.collectable).toBe(c.collectable);
    expect(why.kindRule).toBe(c.kindRule);
    expect(why.boxes.map((b) => b.id)).toEqual(c.boxes);
    expect(why.bases.map((b) => b.id)).toEqual(c.bases);
    if (c.free === null) {
      expect(why.wouldFree).toBeNull();
      return;
    }
    expect(why.wouldFree).toMatchObject({ removeBoxes: c.free.boxes, removeRootfs: c.free.rootfs, verified: true });
    expect(why.wouldFree!.removeSnapshots.map((s) => s.id)).toEqual(c.free.snapshots);
  });

  it('says how each box reads the base, and how deep each base above it is', () => {
    const why = explainBase(cases[7]![1].graph, 'B0')!;
    expect(why.boxes).toEqual([
      { id: 'X', via: 'B1', how: 'ref' }, // X holds a ref on the snapshot in the middle (it was forked from X)
      { id: 'Y', via: 'B3', how: 'ref' },
      { id: 'Z', via: 'B2', how: 'ref' },
    ]);
    expect(why.bases.map((b) => [b.id, b.depth])).toEqual([
      ['B1', 1],
      ['B3', 1],
      ['B2', 2],
    ]);
  });

  it('a ref held by a box with no row (one this home does not manage) is a reader too; an unknown id has no answer', () => {
    const g: WhyGraph = { bases: [base('B1')], boxes: [box('S', 'B1')], refs: [ref('B1', 'S'), ref('B1', 'ghost')] };
    const why = explainBase(g, 'B1')!;
    expect(why.wouldFree!.removeBoxes).toEqual(['S', 'ghost']);
    expect(why.wouldFree!.verified).toBe(true);
    expect(explainBase(g, 'nope')).toBeNull();
  });
});
