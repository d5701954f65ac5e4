import type { Database } from 'better-sqlite3';
import { BASE_COLUMNS, toBaseRecord, type BaseDiskRow } from '../rows.js';
import type { BaseDiskRecord } from '../types.js';
import { statement } from './statement.js';

/** Bases whose backing chain reads `parentId` next (in any state: a creating child reads it too). */
export function childBases(db: Database, parentId: string): BaseDiskRecord[] {
  const rows = statement(db, `SELECT ${BASE_COLUMNS} FROM base_disk WHERE parent_id = ? ORDER BY id`).all(
    parentId,
  ) as BaseDiskRow[];
  return rows.map(toBaseRecord);
}
