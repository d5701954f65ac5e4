/**
 * The GC plan: every base a full GC would collect, written once over a graph
 * of records. Each base is judged by the GC rule itself (decideGcClaim), with
 * its readers counted in the graph instead of the database; as a base goes,
 * its parent loses a reader and is judged again (the cascade), to a fixed
 * point. The gc flow asks the writer about one base at a time; the sweep,
 * recovery, `gc --dry-run` and the forest's "reclaimable" figure read the
 * whole plan from here.
 */
import type { Database } from 'better-sqlite3';
import { listBases } from '../sql/listBases.js';
import { boxCountsByBase } from '../sql/boxCountsByBase.js';
import { refCountsByBase } from '../sql/refCountsByBase.js';
import type { ReaderKind } from '../sql/firstReader.js';
import type { BaseDiskRecord, BoxRecord } from '../types.js';
import { decideGcClaim } from './gcClaim.js';

const bump = (m: Map<string, number>, id: string | null, by = 1) => id !== null && m.set(id, (m.get(id) ?? 0) + by);

/** How many of `boxes` read each base: planGc's box readers for a caller holding the records. */
export function countBoxReaders(boxes: Iterable<Pick<BoxRecord, 'baseId'>>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const x of boxes) bump(counts, x.baseId);
  return counts;
}

/**
 * Bases nothing reads, as GC would find them: nearest first, each base before the parent it frees.
 * `boxReaders` and `refCounts`: how many box rows and refs read each base (absent: none).
 */
export function planGc(bases: readonly BaseDiskRecord[], boxReaders: ReadonlyMap<string, number>, refCounts: ReadonlyMap<string, number>): string[] {
  const children = new Map<string, number>();
  for (const b of bases) bump(children, b.parentId);
  // The same order of questions as firstReader: refs, then box rows, then child bases.
  const firstReader = (id: string): ReaderKind | null =>
    (refCounts.get(id) ?? 0) > 0 ? 'ref' : (boxReaders.get(id) ?? 0) > 0 ? 'box' : (children.get(id) ?? 0) > 0 ? 'child' : null;
  const byId = new Map(bases.map((b) => [b.id, b]));
  const claimable = (b: BaseDiskRecord) => decideGcClaim(b, () => firstReader(b.id)).action === 'claim';
  const planned: string[] = [];
  for (let frontier = bases.filter(claimable); frontier.length > 0; ) {
    const next: BaseDiskRecord[] = [];
    for (const b of frontier) {
      planned.push(b.id);
      byId.delete(b.id);
      if (b.parentId === null) continue;
      bump(children, b.parentId, -1);
      const parent = byId.get(b.parentId);
      if (parent && claimable(parent)) next.push(parent);
    }
    frontier = next;
  }
  return planned;
}

/** The plan for a home's database as it is now (counted in SQL: no box record is read). */
export function planGcOf(db: Database): string[] {
  return planGc(listBases(db, { includeTombstoned: true }), boxCountsByBase(db), refCountsByBase(db));
}
