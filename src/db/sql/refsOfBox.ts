import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/** The bases `boxId` holds refs to, sorted. */
export function refsOfBox(db: Database, boxId: string): string[] {
  const rows = statement(db, 'SELECT base_disk_id FROM base_disk_ref WHERE box_id = ? ORDER BY base_disk_id').all(
    boxId,
  ) as { base_disk_id: string }[];
  return rows.map((r) => r.base_disk_id);
}
