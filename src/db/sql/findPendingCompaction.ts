import type { Database } from 'better-sqlite3';
import type { OpEntry } from './findOp.js';
import { findPendingOp } from './findPendingOp.js';

/** The compaction of base `baseId` begun and not settled, if any (beginCompact refuses a second). */
export function findPendingCompaction(db: Database, baseId: string): OpEntry | null {
  return findPendingOp(db, 'beginCompact', 'baseId', baseId);
}
