import type { Database } from 'better-sqlite3';
import type { BaseState } from '../types.js';
import { statement } from './statement.js';

/** Move a base from one state to another; false if it was not in `from` (lost a race). */
export function updateBaseState(db: Database, id: string, from: BaseState, to: BaseState): boolean {
  return statement(db, 'UPDATE base_disk SET state = ? WHERE id = ? AND state = ?').run(to, id, from).changes > 0;
}
