import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/** How many refs each base has, in one pass over the refs' primary key (bases without refs are absent). */
export function refCountsByBase(db: Database): Map<string, number> {
  const rows = statement(db, 'SELECT base_disk_id AS id, count(*) AS n FROM base_disk_ref GROUP BY base_disk_id').all() as { id: string; n: number }[];
  return new Map(rows.map((r) => [r.id, r.n]));
}
