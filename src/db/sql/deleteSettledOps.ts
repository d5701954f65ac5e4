import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/** Delete journal entries that are settled (done or aborted) and untouched since `before`; pending ones stay. */
export function deleteSettledOps(db: Database, before: number): number {
  return statement(db, `DELETE FROM op WHERE state <> 'pending' AND updated_at < ?`).run(before).changes;
}
