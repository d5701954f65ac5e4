/** Reading back what beginRestore journalled, for the command that finishes a restore. */
import type { Database } from 'better-sqlite3';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { findOp } from '../sql/findOp.js';
import type { BeginRestoreResult } from '../types.js';

export function requireBegunRestore(db: Database, op: string, doing: string): BeginRestoreResult {
  const entry = findOp(db, op, 'beginRestore');
  if (!entry) throw new ForkpointError(ErrorCodes.CONFLICT, `cannot ${doing} restore ${op}: no restore was begun under that op`, { op });
  if (entry.state !== 'pending') throw new ForkpointError(ErrorCodes.CONFLICT, `cannot ${doing} restore ${op}: it is already ${entry.state}`, { op });
  return entry.result as BeginRestoreResult;
}
