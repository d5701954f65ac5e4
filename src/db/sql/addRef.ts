import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/** Record that `boxId` reads `baseId`; true if the ref is new (adding twice is a no-op). */
export function addRef(db: Database, baseId: string, boxId: string, now: number): boolean {
  return (
    statement(db, 'INSERT OR IGNORE INTO base_disk_ref (base_disk_id, box_id, created_at) VALUES (?, ?, ?)').run(
      baseId,
      boxId,
      now,
    ).changes > 0
  );
}
