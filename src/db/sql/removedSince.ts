import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/**
 * Whether a removal of `boxId` was journalled at or after `since` (ms). Reads
 * the journal by command and payload, so it is not for hot paths: only a
 * retried job asks, about a box it made once and no longer finds.
 */
export function removedSince(db: Database, boxId: string, since: number): boolean {
  return (
    statement(
      db,
      "SELECT 1 FROM op WHERE command = 'removeBox' AND json_extract(payload_json, '$.boxId') = ? AND created_at >= ? LIMIT 1",
    ).get(boxId, since) !== undefined
  );
}
