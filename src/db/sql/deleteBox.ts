import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

export function deleteBox(db: Database, id: string): boolean {
  return statement(db, 'DELETE FROM box WHERE id = ?').run(id).changes > 0;
}
