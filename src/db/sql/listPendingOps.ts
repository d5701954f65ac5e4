import type { Database } from 'better-sqlite3';
import { OP_COLUMNS, toOpEntry, type OpEntry } from './findOp.js';
import { statement } from './statement.js';

/** Operations begun and never settled (what recovery must finish), of one command if given, oldest first. */
export function listPendingOps(db: Database, command?: string): OpEntry[] {
  const rows =
    command === undefined
      ? statement(db, `SELECT ${OP_COLUMNS} FROM op WHERE state = 'pending' ORDER BY created_at, op_id`).all()
      : statement(db, `SELECT ${OP_COLUMNS} FROM op WHERE state = 'pending' AND command = ? ORDER BY created_at, op_id`).all(command);
  return (rows as Parameters<typeof toOpEntry>[0][]).map(toOpEntry);
}
