import type { Database } from 'better-sqlite3';
import { OP_COLUMNS, toOpEntry, type OpEntry } from './findOp.js';
import { statement } from './statement.js';

/**
 * The restore of `boxId` begun and not settled, if any. Pending entries are few (one per operation
 * in flight), so filtering them by the journalled box id costs nothing next to the state index.
 */
export function findPendingRestore(db: Database, boxId: string): OpEntry | null {
  const row = statement(
    db,
    `SELECT ${OP_COLUMNS} FROM op WHERE state = 'pending' AND command = 'beginRestore' AND json_extract(payload_json, '$.boxId') = ?`,
  ).get(boxId);
  return row ? toOpEntry(row as Parameters<typeof toOpEntry>[0]) : null;
}
