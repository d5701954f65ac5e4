import type { Database } from 'better-sqlite3';
import type { OpState } from './findOp.js';
import { statement } from './statement.js';

export function insertOp(
  db: Database,
  e: { opId: string; command: string; state: OpState; payloadJson: string; resultJson: string; now: number },
): void {
  statement(
    db,
    `INSERT INTO op (op_id, command, state, payload_json, result_json, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  ).run(e.opId, e.command, e.state, e.payloadJson, e.resultJson, e.now, e.now);
}
