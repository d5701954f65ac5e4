import type { Database } from 'better-sqlite3';
import { BASE_COLUMNS, toBaseRecord, type BaseDiskRow } from '../rows.js';
import type { BaseDiskRecord } from '../types.js';
import { statement } from './statement.js';

/** `path` must be canonical (as stored): the lookup is an exact match. */
export function findBaseByPath(db: Database, path: string): BaseDiskRecord | null {
  const row = statement(db, `SELECT ${BASE_COLUMNS} FROM base_disk WHERE base_path = ?`).get(path) as
    | BaseDiskRow
    | undefined;
  return row ? toBaseRecord(row) : null;
}
