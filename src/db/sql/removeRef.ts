import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/** Drop the one ref `boxId` holds to `baseId`; true if there was one. */
export function removeRef(db: Database, baseId: string, boxId: string): boolean {
  return statement(db, 'DELETE FROM base_disk_ref WHERE base_disk_id = ? AND box_id = ?').run(baseId, boxId).changes > 0;
}
