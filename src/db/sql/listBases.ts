import type { Database } from 'better-sqlite3';
import { BASE_COLUMNS, toBaseRecord, type BaseDiskRow } from '../rows.js';
import type { BaseDiskRecord, BaseKind, BaseState } from '../types.js';
import { statement } from './statement.js';

export interface ListBasesFilter {
  kind?: BaseKind;
  sourceBoxId?: string;
  state?: BaseState;
  /** Tombstoned snapshots are hidden unless asked for (the CLI's `--all`). */
  includeTombstoned?: boolean;
}

/**
 * Bases matching every given filter, oldest first. The WHERE clause is built
 * from the filters present (a fixed set of texts, each prepared once) rather
 * than `(? IS NULL OR col = ?)`, which would stop SQLite using the indexes.
 */
export function listBases(db: Database, f: ListBasesFilter = {}): BaseDiskRecord[] {
  const clauses: string[] = [];
  const params: Record<string, string> = {};
  if (f.sourceBoxId !== undefined) {
    clauses.push('source_box_id = @source');
    params.source = f.sourceBoxId;
  }
  if (f.kind !== undefined) {
    clauses.push('kind = @kind');
    params.kind = f.kind;
  }
  if (f.state !== undefined) {
    clauses.push('state = @state');
    params.state = f.state;
  }
  if (!f.includeTombstoned) clauses.push('tombstoned = 0');
  const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
  const rows = statement(db, `SELECT ${BASE_COLUMNS} FROM base_disk ${where} ORDER BY created_at, id`).all(
    params,
  ) as BaseDiskRow[];
  return rows.map(toBaseRecord);
}
