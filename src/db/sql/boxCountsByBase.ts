import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/** How many boxes read each base, from the box_by_base index (bases no box reads are absent). */
export function boxCountsByBase(db: Database): Map<string, number> {
  const rows = statement(db, 'SELECT base_id AS id, count(*) AS n FROM box WHERE base_id IS NOT NULL GROUP BY base_id').all() as { id: string; n: number }[];
  return new Map(rows.map((r) => [r.id, r.n]));
}
