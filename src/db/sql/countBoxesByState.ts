import type { Database } from 'better-sqlite3';
import type { BoxState } from '../types.js';
import { statement } from './statement.js';

/** Boxes per state (states with none are absent). */
export function countBoxesByState(db: Database): Map<BoxState, number> {
  const rows = statement(db, 'SELECT state, count(*) AS n FROM box GROUP BY state').all() as { state: BoxState; n: number }[];
  return new Map(rows.map((r) => [r.state, r.n]));
}
