import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/** Delete the rows of those of `boxIds` that are `removing`, in one statement; returns the ids deleted. */
export function deleteRemovingBoxes(db: Database, boxIds: readonly string[]): Set<string> {
  if (boxIds.length === 0) return new Set();
  const rows = statement(db, "DELETE FROM box WHERE state = 'removing' AND id IN (SELECT value FROM json_each(?)) RETURNING id").all(JSON.stringify(boxIds)) as { id: string }[];
  return new Set(rows.map((r) => r.id));
}
