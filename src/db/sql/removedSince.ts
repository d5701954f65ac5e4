import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/**
 * Whether a removal of `boxId` (alone or in a bulk one) was journalled at or after `since` (ms). Reads
 * the journal by command and payload, so it is not for hot paths: only a
 * retried job asks, about a box it made once and no longer finds.
 */
export function removedSince(db: Database, boxId: string, since: number): boolean {
  return (
    statement(
      db,
      // A bulk removal (removeBoxes) names its boxes in a list.
      `SELECT 1 FROM op WHERE created_at >= ? AND (
         (command = 'removeBox' AND json_extract(payload_json, '$.boxId') = ?)
         OR (command = 'removeBoxes' AND EXISTS (SELECT 1 FROM json_each(payload_json, '$.boxIds') WHERE value = ?))
       ) LIMIT 1`,
    ).get(since, boxId, boxId) !== undefined
  );
}
