import type { Database } from 'better-sqlite3';
import { BOX_COLUMNS, toBoxRecord, type BoxRow } from '../rows.js';
import type { BoxRecord } from '../types.js';
import { statement } from './statement.js';

export function findBox(db: Database, id: string): BoxRecord | null {
  const row = statement(db, `SELECT ${BOX_COLUMNS} FROM box WHERE id = ?`).get(id) as BoxRow | undefined;
  return row ? toBoxRecord(row) : null;
}
