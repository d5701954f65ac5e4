import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/** Drop the refs `boxId` holds to every base but `keepBaseId` (after a flatten); returns the bases that lost one. */
export function removeRefsForBoxExcept(db: Database, boxId: string, keepBaseId: string): string[] {
  const rows = statement(
    db,
    'DELETE FROM base_disk_ref WHERE box_id = ? AND base_disk_id <> ? RETURNING base_disk_id',
  ).all(boxId, keepBaseId) as { base_disk_id: string }[];
  return rows.map((r) => r.base_disk_id).sort();
}
