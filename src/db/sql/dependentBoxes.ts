import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/**
 * Boxes that read `baseId`: those holding a ref, and those whose row points
 * at it before their ref exists (clone targets being written). Sorted, unique.
 */
export function dependentBoxes(db: Database, baseId: string): string[] {
  const rows = statement(
    db,
    `SELECT box_id AS id FROM base_disk_ref WHERE base_disk_id = ?
     UNION SELECT id FROM box WHERE base_id = ?
     ORDER BY id`,
  ).all(baseId, baseId) as { id: string }[];
  return rows.map((r) => r.id);
}
