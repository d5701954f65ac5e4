import type { Database } from 'better-sqlite3';
import { BOX_COLUMNS, toBoxRecord, type BoxRow } from '../rows.js';
import type { BoxRecord, BoxState } from '../types.js';
import { statement } from './statement.js';

export interface ListBoxesFilter {
  state?: BoxState;
  baseId?: string;
  opId?: string;
}

/** Boxes matching every given filter (see listBases for why the clause is built). */
export function listBoxes(db: Database, f: ListBoxesFilter = {}): BoxRecord[] {
  const clauses: string[] = [];
  const params: Record<string, string> = {};
  if (f.state !== undefined) {
    clauses.push('state = @state');
    params.state = f.state;
  }
  if (f.baseId !== undefined) {
    clauses.push('base_id = @base');
    params.base = f.baseId;
  }
  if (f.opId !== undefined) {
    clauses.push('op_id = @op');
    params.op = f.opId;
  }
  const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
  const rows = statement(db, `SELECT ${BOX_COLUMNS} FROM box ${where} ORDER BY created_at, id`).all(params) as BoxRow[];
  return rows.map(toBoxRecord);
}
