/** The forest and the GC plan are pure: records in, tree and reclaimable set out. */
import { describe, expect, it } from 'vitest';
import type { BaseDiskRecord, BoxRecord } from '../../src/db/types.js';
import { buildForest, renderForest } from '../../src/producers/forest.js';
import { countBoxReaders, planGc } from '../../src/db/rules/gcPlan.js';

let t = 0;
function base(id: string, o: Partial<BaseDiskRecord> = {}): BaseDiskRecord {
  return {
    id, sourceBoxId: 'src', name: null, kind: 'clone_base', state: 'ready', basePath: `/h/bases/${id}.qcow2`,
    containerDiskBytes: 1 << 30, sizeBytes: 1000, parentId: null, opId: `op-${id}`, tombstoned: false, createdAt: t++, ...o,
  };
}
const box = (id: string, baseId: string | null): BoxRecord => ({ id, state: 'ready', diskPath: `/h/boxes/${id}/disks/container.qcow2`, baseId, opId: `op-${id}`, createdAt: t++ });

describe('planGc', () => {
  it('collects an unread chain of clone bases, nearest first (the cascade)', () => {
    const bases = [base('B1aaaaaa'), base('B2aaaaaa', { parentId: 'B1aaaaaa' })];
    expect(planGc(bases, new Map(), new Map())).toEqual(['B2aaaaaa', 'B1aaaaaa']);
  });

  it('keeps a clone base that a ref, a box disk or a snapshot on top of it reads', () => {
    const b = [base('Refdaaaa'), base('Boxdaaaa'), base('Parentaa'), base('Snapaaaa', { kind: 'snapshot', name: 's', parentId: 'Parentaa' })];
    expect(planGc(b, countBoxReaders([box('x', 'Boxdaaaa')]), new Map([['Refdaaaa', 1]]))).toEqual([]);
  });

  it('collects a removed (tombstoned) snapshot nothing reads, and the clone base under it', () => {
    const b = [base('Parentaa'), base('Snapaaaa', { kind: 'snapshot', name: 's', parentId: 'Parentaa', tombstoned: true })];
    expect(planGc(b, new Map(), new Map())).toEqual(['Snapaaaa', 'Parentaa']);
  });

  it('never plans a live snapshot, a rootfs, or a base that is creating or deleting', () => {
    const b = [
      base('Snapaaaa', { kind: 'snapshot', name: 's' }),
      base('Rootfsaa', { kind: 'rootfs', name: 'k', sourceBoxId: '__global__' }),
      base('Creating', { state: 'creating' }),
      base('Deleting', { state: 'deleting' }),
    ];
    expect(planGc(b, new Map(), new Map())).toEqual([]);
  });
});

describe('buildForest / renderForest', () => {
  it('puts bases under their parents and boxes under their base, with totals', () => {
    const bases = [base('Rootaaaa', { sizeBytes: 3000 }), base('Childaaa', { parentId: 'Rootaaaa', sizeBytes: 500 }), base('Loneaaaa', { sizeBytes: 7 })];
    const forest = buildForest(bases, [box('web', 'Childaaa'), box('solo', null)], new Map([['Childaaa', 1]]));
    expect(forest.roots.map((r) => r.id)).toEqual(['Rootaaaa', 'Loneaaaa']);
    expect(forest.roots[0]!.children.map((c) => [c.id, c.boxes, c.refCount])).toEqual([['Childaaa', ['web'], 1]]);
    expect(forest.standaloneBoxes).toEqual(['solo']);
    expect(forest.totals).toEqual({ bases: 3, boxes: 2, basesBytes: 3507, reclaimableBytes: 7, reclaimable: ['Loneaaaa'] });
    const text = renderForest(forest, (n) => `${n} B`);
    expect(text.split('\n')).toEqual([
      'Rootaaaa  clone base of src  3000 B  refs=0',
      '  Childaaa  clone base of src  500 B  refs=1',
      '    └─ box web',
      'Loneaaaa  clone base of src  7 B  refs=0',
      'box solo (standalone disk)',
      '3 bases (3507 B), 2 boxes, reclaimable: 1 bases, 7 B',
    ]);
  });
});
