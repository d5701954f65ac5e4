import type { Database } from 'better-sqlite3';
import { BASE_COLUMNS, toBaseRecord, type BaseDiskRow } from '../rows.js';
import type { BaseDiskRecord } from '../types.js';
import { statement } from './statement.js';

/** The rootfs cache entry for a version key. */
export function findRootfs(db: Database, key: string): BaseDiskRecord | null {
  const row = statement(db, `SELECT ${BASE_COLUMNS} FROM base_disk WHERE name = ? AND kind = 'rootfs'`).get(key) as
    | BaseDiskRow
    | undefined;
  return row ? toBaseRecord(row) : null;
}
