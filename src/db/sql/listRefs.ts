import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/** Every ref (which box reads which base), in the refs' primary-key order. */
export function listRefs(db: Database): { baseId: string; boxId: string }[] {
  return statement(db, 'SELECT base_disk_id AS baseId, box_id AS boxId FROM base_disk_ref ORDER BY base_disk_id, box_id').all() as { baseId: string; boxId: string }[];
}
