import type { Database } from 'better-sqlite3';
import type { BaseDiskRecord } from '../types.js';
import { statement } from './statement.js';

/** Insert one base record as given (the caller has validated it). */
export function insertBase(db: Database, r: BaseDiskRecord): void {
  statement(
    db,
    `INSERT INTO base_disk (id, source_box_id, name, kind, state, base_path, container_disk_bytes, size_bytes,
                            parent_id, op_id, tombstoned, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(r.id, r.sourceBoxId, r.name, r.kind, r.state, r.basePath, r.containerDiskBytes, r.sizeBytes, r.parentId, r.opId,
    r.tombstoned ? 1 : 0, r.createdAt);
}
