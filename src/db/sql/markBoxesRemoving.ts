import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/** Turn these boxes' rows `removing` (the base each reads stays: it is a reader until the row goes), in one statement. */
export function markBoxesRemoving(db: Database, boxIds: readonly string[]): void {
  if (boxIds.length === 0) return;
  statement(db, "UPDATE box SET state = 'removing' WHERE id IN (SELECT value FROM json_each(?))").run(JSON.stringify(boxIds));
}
