import type { Database } from 'better-sqlite3';
import { BASE_COLUMNS, toBaseRecord, type BaseDiskRow } from '../rows.js';
import type { BaseDiskRecord } from '../types.js';
import { statement } from './statement.js';

/**
 * A ready base imported from an OCI layer with this digest on top of `parentId` (null: a bottom
 * layer). An imported base's name is its layer digest, which covers its whole chain (src/oci/layout.ts).
 */
export function findImportedBase(db: Database, digest: string, parentId: string | null): BaseDiskRecord | null {
  const row = statement(
    db,
    `SELECT ${BASE_COLUMNS} FROM base_disk WHERE name = ? AND kind = 'clone_base' AND state = 'ready' AND parent_id IS ? ORDER BY created_at, id LIMIT 1`,
  ).get(digest, parentId) as BaseDiskRow | undefined;
  return row ? toBaseRecord(row) : null;
}
