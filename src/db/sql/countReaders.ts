import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

export interface ReaderCounts {
  /** Refs held by boxes. */
  refs: number;
  /** Box rows pointing at the base (may have no ref yet). */
  boxes: number;
  /** Bases whose backing chain reads this one next. */
  children: number;
}

/** Everything that reads `baseId`, counted with three indexed lookups (the GC decision's input). */
export function countReaders(db: Database, baseId: string): ReaderCounts {
  return statement(
    db,
    `SELECT (SELECT count(*) FROM base_disk_ref WHERE base_disk_id = @id) AS refs,
            (SELECT count(*) FROM box WHERE base_id = @id) AS boxes,
            (SELECT count(*) FROM base_disk WHERE parent_id = @id) AS children`,
  ).get({ id: baseId }) as ReaderCounts;
}
