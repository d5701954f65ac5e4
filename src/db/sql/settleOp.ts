import type { Database } from 'better-sqlite3';
import type { OpState } from './findOp.js';
import { statement } from './statement.js';

/** Close a pending journal entry (a fork's beginFork when it commits or aborts). */
export function settleOp(db: Database, opId: string, command: string, state: OpState, now: number): boolean {
  return (
    statement(db, `UPDATE op SET state = ?, updated_at = ? WHERE op_id = ? AND command = ? AND state = 'pending'`).run(
      state,
      now,
      opId,
      command,
    ).changes > 0
  );
}
