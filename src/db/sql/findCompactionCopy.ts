import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/**
 * The copy a committed compaction of base `baseId` made (the boxes that read the base were
 * re-pointed at it), or null: none, or its journal entry pruned since. Asked only when a base is
 * found gone, so a scan of the settled compactions costs nothing that matters.
 */
export function findCompactionCopy(db: Database, baseId: string): string | null {
  const row = statement(db, `SELECT json_extract(result_json, '$.baseId') AS copy FROM op WHERE command = 'beginCompact' AND state = 'done' AND json_extract(payload_json, '$.baseId') = ?`).get(baseId) as
    | { copy: string | null }
    | undefined;
  return row?.copy ?? null;
}
