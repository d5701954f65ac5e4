import type { Database } from 'better-sqlite3';
import { BASE_COLUMNS, toBaseRecord, type BaseDiskRow } from '../rows.js';
import type { BaseDiskRecord, BaseKind, BaseState } from '../types.js';
import { statement } from './statement.js';
import { whereEquals } from './where.js';

export interface ListBasesFilter {
  kind?: BaseKind;
  sourceBoxId?: string;
  state?: BaseState;
  /** Tombstoned snapshots are hidden unless asked for (the CLI's `--all`). */
  includeTombstoned?: boolean;
}

/** Bases matching every given filter, oldest first. */
export function listBases(db: Database, f: ListBasesFilter = {}): BaseDiskRecord[] {
  const { where, params } = whereEquals(
    [
      ['source_box_id', f.sourceBoxId],
      ['kind', f.kind],
      ['state', f.state],
    ],
    f.includeTombstoned ? [] : ['tombstoned = 0'],
  );
  const rows = statement(db, `SELECT ${BASE_COLUMNS} FROM base_disk ${where} ORDER BY created_at, id`).all(params) as BaseDiskRow[];
  return rows.map(toBaseRecord);
}
