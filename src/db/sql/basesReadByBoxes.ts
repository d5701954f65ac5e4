import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/** Every base some ready box's disk is a direct child of (the bases a compaction could re-point boxes from). */
export function basesReadByBoxes(db: Database): string[] {
  return (statement(db, `SELECT DISTINCT base_id FROM box WHERE base_id IS NOT NULL AND state = 'ready' ORDER BY base_id`).all() as { base_id: string }[]).map((r) => r.base_id);
}
