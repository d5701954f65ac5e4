import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/** What kind of reader holds a base: a box's ref, a box row (a clone target before its ref), or a child base. */
export type ReaderKind = 'ref' | 'box' | 'child';

/**
 * The first reader of `baseId` found, or null if nothing reads it. CASE stops
 * at the first EXISTS that holds, so a base with refs (the usual answer when
 * GC asks) costs one index probe instead of three: at 100k bases each probe
 * is a leaf page that is rarely in the CPU cache.
 */
export function firstReader(db: Database, baseId: string): ReaderKind | null {
  const row = statement(
    db,
    `SELECT CASE
       WHEN EXISTS (SELECT 1 FROM base_disk_ref WHERE base_disk_id = @id) THEN 'ref'
       WHEN EXISTS (SELECT 1 FROM box WHERE base_id = @id) THEN 'box'
       WHEN EXISTS (SELECT 1 FROM base_disk WHERE parent_id = @id) THEN 'child'
     END AS reader`,
  ).get({ id: baseId }) as { reader: ReaderKind | null };
  return row.reader;
}
