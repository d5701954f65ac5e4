import type { Database } from 'better-sqlite3';
import { BOX_COLUMNS, toBoxRecord, type BoxRow } from '../rows.js';
import type { BoxRecord, BoxState } from '../types.js';
import { statement } from './statement.js';
import { whereEquals } from './where.js';

export interface ListBoxesFilter {
  state?: BoxState;
  baseId?: string;
  opId?: string;
}

/** Boxes matching every given filter, oldest first. */
export function listBoxes(db: Database, f: ListBoxesFilter = {}): BoxRecord[] {
  const { where, params } = whereEquals([
    ['state', f.state],
    ['base_id', f.baseId],
    ['op_id', f.opId],
  ]);
  const rows = statement(db, `SELECT ${BOX_COLUMNS} FROM box ${where} ORDER BY created_at, id`).all(params) as BoxRow[];
  return rows.map(toBoxRecord);
}
