import type { Database } from 'better-sqlite3';
import { BOX_COLUMNS, toBoxRecord, type BoxRow } from '../rows.js';
import type { BoxRecord } from '../types.js';
import { statement } from './statement.js';

/** The rows of those of `ids` that have one, by id: one statement (the list against the primary key) for a whole batch. */
export function findBoxes(db: Database, ids: readonly string[]): Map<string, BoxRecord> {
  if (ids.length === 0) return new Map();
  const rows = statement(db, `SELECT ${BOX_COLUMNS} FROM box WHERE id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(ids)) as BoxRow[];
  return new Map(rows.map((r) => [r.id, toBoxRecord(r)]));
}
