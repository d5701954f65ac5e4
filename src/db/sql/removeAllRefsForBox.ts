import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/** Drop every ref `boxId` holds; returns the bases that lost one (the GC candidates). */
export function removeAllRefsForBox(db: Database, boxId: string): string[] {
  const rows = statement(db, 'DELETE FROM base_disk_ref WHERE box_id = ? RETURNING base_disk_id').all(boxId) as {
    base_disk_id: string;
  }[];
  return rows.map((r) => r.base_disk_id).sort();
}
