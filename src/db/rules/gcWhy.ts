/**
 * Why is a base kept, and what would free it? Answered over a graph of
 * records with the GC rule itself: the verdict is decideGcClaim's, and "what
 * would free it" is checked by running the GC plan (planGc) over the same
 * graph without the boxes and snapshots named, so the answer cannot drift
 * from what GC does. Pure: `forkpoint bases why` and `GET /api/bases/:id/why`
 * read the graph with whyOf().
 */
import type { Database } from 'better-sqlite3';
import { listBases } from '../sql/listBases.js';
import { listBoxes } from '../sql/listBoxes.js';
import { listRefs } from '../sql/listRefs.js';
import type { ReaderKind } from '../sql/firstReader.js';
import type { BaseDiskRecord, BoxRecord } from '../types.js';
import { decideGcClaim, type GcClaimDecision } from './gcClaim.js';
import { countBoxReaders, planGc } from './gcPlan.js';

export interface WhyGraph {
  /** Every base, tombstoned snapshots included. */
  bases: readonly BaseDiskRecord[];
  boxes: readonly Pick<BoxRecord, 'id' | 'baseId'>[];
  refs: readonly { baseId: string; boxId: string }[];
}

export interface ChainReader {
  id: string;
  kind: BaseDiskRecord['kind'];
  name: string | null;
  sourceBoxId: string;
  /** 1: forked directly on top of the base; 2: on top of one of those; … */
  depth: number;
}

export interface BoxReader {
  id: string;
  /** The base it reads directly (a ref or its disk's backing file): the base asked about, or one of the bases above it. */
  via: string;
  how: 'ref' | 'disk';
}

export interface FreeingPlan {
  /** Boxes to remove (or restore to another snapshot): every box whose chain reads the base. */
  removeBoxes: string[];
  /** Snapshots to remove explicitly (`snapshot rm`), the base itself if it is one: GC never takes a live snapshot. */
  removeSnapshots: { id: string; sourceBoxId: string; name: string | null }[];
  /** The rootfs key to remove (`rootfs rm`) when the base is a rootfs image. */
  removeRootfs: string | null;
  /** The GC plan over the graph without them collects the base (an explicit removal, for a rootfs). */
  verified: boolean;
}

export interface BaseWhy {
  base: BaseDiskRecord;
  /** The GC rule's answer now: `claim` means the next GC collects it. */
  decision: GcClaimDecision;
  /** Whether a GC run now would collect it, cascades included (planGc). */
  collectable: boolean;
  /** Boxes holding a ref to it. */
  refs: string[];
  /** Every box reading it, directly or through the bases above it. */
  boxes: BoxReader[];
  /** Bases (clone bases and snapshots) whose chains pass through it, nearest first. */
  bases: ChainReader[];
  /** The kind rule that keeps it whatever reads it: a live snapshot or a rootfs image. */
  kindRule: 'snapshot' | 'rootfs' | null;
  /** What would free it; null while it is being created or already being deleted. */
  wouldFree: FreeingPlan | null;
}

function index(g: WhyGraph) {
  const children = new Map<string, BaseDiskRecord[]>();
  const boxRows = new Map<string, string[]>();
  const refsOf = new Map<string, string[]>();
  const push = <V>(m: Map<string, V[]>, k: string | null, v: V) => k !== null && (m.get(k) ?? m.set(k, []).get(k)!).push(v);
  for (const b of g.bases) push(children, b.parentId, b);
  for (const x of g.boxes) push(boxRows, x.baseId, x.id);
  for (const r of g.refs) push(refsOf, r.baseId, r.boxId);
  // The same order of questions as the writer's firstReader: refs, then box rows, then child bases.
  const firstReader = (id: string): ReaderKind | null =>
    (refsOf.get(id)?.length ?? 0) > 0 ? 'ref' : (boxRows.get(id)?.length ?? 0) > 0 ? 'box' : (children.get(id)?.length ?? 0) > 0 ? 'child' : null;
  return { children, boxRows, refsOf, firstReader };
}

const refCounts = (refs: WhyGraph['refs']) => {
  const m = new Map<string, number>();
  for (const r of refs) m.set(r.baseId, (m.get(r.baseId) ?? 0) + 1);
  return m;
};

export function explainBase(g: WhyGraph, baseId: string): BaseWhy | null {
  const base = g.bases.find((b) => b.id === baseId);
  if (!base) return null;
  const ix = index(g);
  const bases: ChainReader[] = [];
  const boxes = new Map<string, BoxReader>();
  const seen = new Set<string>([base.id]);
  const readersOf = (id: string) => {
    for (const box of ix.refsOf.get(id) ?? []) if (!boxes.has(box)) boxes.set(box, { id: box, via: id, how: 'ref' });
    for (const box of ix.boxRows.get(id) ?? []) if (!boxes.has(box)) boxes.set(box, { id: box, via: id, how: 'disk' });
  };
  readersOf(base.id);
  for (let frontier = [base.id], depth = 1; frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const c of ix.children.get(id) ?? []) {
        if (seen.has(c.id)) continue; // a loop in the records: recovery reports it; here each base is listed once
        seen.add(c.id);
        bases.push({ id: c.id, kind: c.kind, name: c.name, sourceBoxId: c.sourceBoxId, depth });
        readersOf(c.id);
        next.push(c.id);
      }
    }
    frontier = next;
  }
  const decision = decideGcClaim(base, () => ix.firstReader(base.id));
  const plan = planGc(g.bases, countBoxReaders(g.boxes), refCounts(g.refs));
  const kindRule = base.kind === 'rootfs' ? 'rootfs' : base.kind === 'snapshot' && !base.tombstoned ? 'snapshot' : null;
  const settled = base.state === 'ready';
  return {
    base,
    decision,
    collectable: plan.includes(base.id),
    refs: [...(ix.refsOf.get(base.id) ?? [])].sort(),
    boxes: [...boxes.values()].sort((a, b) => a.id.localeCompare(b.id)),
    bases,
    kindRule,
    wouldFree: settled ? freeingPlan(g, base, [...boxes.keys()].sort(), bases) : null,
  };
}

/** The boxes and snapshots whose removal frees `base`, checked by the GC plan over the graph without them. */
function freeingPlan(g: WhyGraph, base: BaseDiskRecord, readingBoxes: string[], above: ChainReader[]): FreeingPlan {
  const liveSnapshot = (b: Pick<BaseDiskRecord, 'kind' | 'tombstoned'>) => b.kind === 'snapshot' && !b.tombstoned;
  const byId = new Map(g.bases.map((b) => [b.id, b]));
  const snapshots = [base, ...above.map((a) => byId.get(a.id)!)].filter(liveSnapshot);
  const gone = new Set(readingBoxes);
  const removed = new Set(snapshots.map((s) => s.id));
  // A removed snapshot nothing reads is collected; here that is a tombstone GC may take.
  const after: WhyGraph = {
    bases: g.bases.map((b) => (removed.has(b.id) ? { ...b, tombstoned: true } : b)),
    boxes: g.boxes.filter((x) => !gone.has(x.id)),
    refs: g.refs.filter((r) => !gone.has(r.boxId)),
  };
  const verified =
    base.kind === 'rootfs'
      ? decideGcClaim(base, () => index(after).firstReader(base.id), { explicit: true }).action === 'claim'
      : planGc(after.bases, countBoxReaders(after.boxes), refCounts(after.refs)).includes(base.id);
  return {
    removeBoxes: readingBoxes,
    removeSnapshots: snapshots.map((s) => ({ id: s.id, sourceBoxId: s.sourceBoxId, name: s.name })),
    removeRootfs: base.kind === 'rootfs' ? base.name : null,
    verified,
  };
}

/** The answer for a home's database as it is now (null: no such base). */
export function whyOf(db: Database, baseId: string): BaseWhy | null {
  return explainBase({ bases: listBases(db, { includeTombstoned: true }), boxes: listBoxes(db), refs: listRefs(db) }, baseId);
}
