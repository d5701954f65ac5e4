import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/** Hide a removed snapshot that something still reads (frees its name for reuse). */
export function tombstoneBase(db: Database, id: string): boolean {
  return statement(db, 'UPDATE base_disk SET tombstoned = 1 WHERE id = ?').run(id).changes > 0;
}
