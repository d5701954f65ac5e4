import type { Database } from 'better-sqlite3';
import { OP_COLUMNS, toOpEntry, type OpEntry } from './findOp.js';
import { statement } from './statement.js';

/**
 * The pending journal entry of `command` whose payload has `field` = `value`, if any. Pending
 * entries are few (one per operation in flight), so filtering them by a payload field costs
 * nothing next to the state index. `field` is one of our own payload keys, never input.
 */
export function findPendingOp(db: Database, command: string, field: 'baseId' | 'boxId', value: string): OpEntry | null {
  const row = statement(db, `SELECT ${OP_COLUMNS} FROM op WHERE state = 'pending' AND command = ? AND json_extract(payload_json, '$.${field}') = ?`).get(command, value);
  return row ? toOpEntry(row as Parameters<typeof toOpEntry>[0]) : null;
}
