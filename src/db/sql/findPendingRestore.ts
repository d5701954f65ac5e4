import type { Database } from 'better-sqlite3';
import type { OpEntry } from './findOp.js';
import { findPendingOp } from './findPendingOp.js';

/** The restore of `boxId` begun and not settled, if any. */
export function findPendingRestore(db: Database, boxId: string): OpEntry | null {
  return findPendingOp(db, 'beginRestore', 'boxId', boxId);
}
