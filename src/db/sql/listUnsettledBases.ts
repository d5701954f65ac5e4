import type { Database } from 'better-sqlite3';
import { BASE_COLUMNS, toBaseRecord, type BaseDiskRow } from '../rows.js';
import type { BaseDiskRecord } from '../types.js';
import { statement } from './statement.js';

/** Bases left creating or deleting (what recovery finishes); uses the partial index. */
export function listUnsettledBases(db: Database): BaseDiskRecord[] {
  const rows = statement(db, `SELECT ${BASE_COLUMNS} FROM base_disk WHERE state <> 'ready' ORDER BY created_at, id`).all() as BaseDiskRow[];
  return rows.map(toBaseRecord);
}
