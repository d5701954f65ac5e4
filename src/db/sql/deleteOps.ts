import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/** Forget the journal entries of `op` for these commands (an aborted operation being started over). */
export function deleteOps(db: Database, opId: string, commands: readonly string[]): void {
  const stmt = statement(db, 'DELETE FROM op WHERE op_id = ? AND command = ?');
  for (const command of commands) stmt.run(opId, command);
}
