import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/** Delete a base row and any refs to it; returns whether a row went. */
export function deleteBase(db: Database, id: string): boolean {
  statement(db, 'DELETE FROM base_disk_ref WHERE base_disk_id = ?').run(id);
  return statement(db, 'DELETE FROM base_disk WHERE id = ?').run(id).changes > 0;
}
