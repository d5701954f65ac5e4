import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

export type OpState = 'pending' | 'done' | 'aborted';

export interface OpEntry {
  opId: string;
  command: string;
  state: OpState;
  payload: unknown;
  result: unknown;
  createdAt: number;
  updatedAt: number;
}

interface OpRow {
  op_id: string;
  command: string;
  state: OpState;
  payload_json: string;
  result_json: string;
  created_at: number;
  updated_at: number;
}

export function toOpEntry(row: OpRow): OpEntry {
  return {
    opId: row.op_id,
    command: row.command,
    state: row.state,
    payload: JSON.parse(row.payload_json),
    result: JSON.parse(row.result_json),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export const OP_COLUMNS = 'op_id, command, state, payload_json, result_json, created_at, updated_at';

/** The journal entry of one command of one operation, if it ran. */
export function findOp(db: Database, opId: string, command: string): OpEntry | null {
  const row = statement(db, `SELECT ${OP_COLUMNS} FROM op WHERE op_id = ? AND command = ?`).get(opId, command) as
    | OpRow
    | undefined;
  return row ? toOpEntry(row) : null;
}

/** Raw payload text, for comparing a replayed command with the journalled one. */
export function findOpPayloadText(db: Database, opId: string, command: string): string | null {
  const row = statement(db, 'SELECT payload_json FROM op WHERE op_id = ? AND command = ?').get(opId, command) as
    | { payload_json: string }
    | undefined;
  return row?.payload_json ?? null;
}
