import type { Database } from 'better-sqlite3';
import { BASE_COLUMNS, toBaseRecord, type BaseDiskRow } from '../rows.js';
import type { BaseDiskRecord } from '../types.js';
import { statement } from './statement.js';

/** Live snapshots called `name`, of any box (names are unique per box only). */
export function findSnapshotsByName(db: Database, name: string): BaseDiskRecord[] {
  const rows = statement(
    db,
    `SELECT ${BASE_COLUMNS} FROM base_disk WHERE name = ? AND kind = 'snapshot' AND tombstoned = 0 ORDER BY created_at, id`,
  ).all(name) as BaseDiskRow[];
  return rows.map(toBaseRecord);
}
