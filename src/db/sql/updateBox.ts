import type { Database } from 'better-sqlite3';
import type { BoxState } from '../types.js';
import { statement } from './statement.js';

/** Set a box's state and the base its disk is a child of. */
export function updateBox(db: Database, id: string, state: BoxState, baseId: string | null): boolean {
  return statement(db, 'UPDATE box SET state = ?, base_id = ? WHERE id = ?').run(state, baseId, id).changes > 0;
}
