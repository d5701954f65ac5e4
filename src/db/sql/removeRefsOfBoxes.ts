import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/** Drop every ref these boxes hold, in one statement; returns the bases each box lost a ref to (sorted), for the boxes that lost any. */
export function removeRefsOfBoxes(db: Database, boxIds: readonly string[]): Map<string, string[]> {
  const lost = new Map<string, string[]>();
  if (boxIds.length === 0) return lost;
  const rows = statement(db, 'DELETE FROM base_disk_ref WHERE box_id IN (SELECT value FROM json_each(?)) RETURNING box_id, base_disk_id').all(JSON.stringify(boxIds)) as {
    box_id: string;
    base_disk_id: string;
  }[];
  for (const r of rows) lost.set(r.box_id, [...(lost.get(r.box_id) ?? []), r.base_disk_id]);
  for (const bases of lost.values()) bases.sort();
  return lost;
}
