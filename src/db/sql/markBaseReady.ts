import type { Database } from 'better-sqlite3';
import type { DiskInfo } from '../types.js';
import { statement } from './statement.js';

/** creating → ready, filling in what only the finished file can tell. */
export function markBaseReady(db: Database, id: string, disk: DiskInfo, parentId: string | null): boolean {
  return (
    statement(
      db,
      `UPDATE base_disk SET state = 'ready', container_disk_bytes = ?, size_bytes = ?, parent_id = ?
       WHERE id = ? AND state = 'creating'`,
    ).run(disk.containerDiskBytes, disk.sizeBytes, parentId, id).changes > 0
  );
}
