import type { Database } from 'better-sqlite3';
import type { BoxRecord } from '../types.js';
import { statement } from './statement.js';

export function insertBox(db: Database, r: BoxRecord): void {
  statement(db, 'INSERT INTO box (id, state, disk_path, base_id, op_id, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(
    r.id,
    r.state,
    r.diskPath,
    r.baseId,
    r.opId,
    r.createdAt,
  );
}
