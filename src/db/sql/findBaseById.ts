import type { Database } from 'better-sqlite3';
import { BASE_COLUMNS, toBaseRecord, type BaseDiskRow } from '../rows.js';
import type { BaseDiskRecord } from '../types.js';
import { statement } from './statement.js';

export function findBaseById(db: Database, id: string): BaseDiskRecord | null {
  const row = statement(db, `SELECT ${BASE_COLUMNS} FROM base_disk WHERE id = ?`).get(id) as BaseDiskRow | undefined;
  return row ? toBaseRecord(row) : null;
}
