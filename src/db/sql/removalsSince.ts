import type { Database } from 'better-sqlite3';
import { statement } from './statement.js';

/**
 * When each box removed (alone or in a bulk removal) at or after `since` (ms) was last removed.
 * Reads the journal by command and payload, once for a whole batch: a resumed batch asks about
 * every target it no longer finds, and one scan per target (thousands) would hold the main
 * thread long enough for BullMQ to lose the job's lock.
 */
export function removalsSince(db: Database, since: number): Map<string, number> {
  const rows = statement(
    db,
    `SELECT json_extract(payload_json, '$.boxId') AS boxId, created_at AS at FROM op WHERE command = 'removeBox' AND created_at >= ?
     UNION ALL
     SELECT j.value AS boxId, op.created_at AS at FROM op, json_each(op.payload_json, '$.boxIds') AS j WHERE op.command = 'removeBoxes' AND op.created_at >= ?`,
  ).all(since, since) as { boxId: string; at: number }[];
  const last = new Map<string, number>();
  for (const r of rows) last.set(r.boxId, Math.max(r.at, last.get(r.boxId) ?? r.at));
  return last;
}
