import type { Database } from 'better-sqlite3';
import { BASE_COLUMNS, toBaseRecord, type BaseDiskRow } from '../rows.js';
import type { BaseDiskRecord } from '../types.js';
import { statement } from './statement.js';

/** The live (not tombstoned) snapshot `name` of `sourceBoxId`. */
export function findSnapshot(db: Database, sourceBoxId: string, name: string): BaseDiskRecord | null {
  const row = statement(
    db,
    `SELECT ${BASE_COLUMNS} FROM base_disk
     WHERE source_box_id = ? AND name = ? AND kind = 'snapshot' AND tombstoned = 0`,
  ).get(sourceBoxId, name) as BaseDiskRow | undefined;
  return row ? toBaseRecord(row) : null;
}
