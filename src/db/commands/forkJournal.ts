/** Reading back what beginFork journalled, for the commands that finish a fork. */
import type { Database } from 'better-sqlite3';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { findBaseById } from '../sql/findBaseById.js';
import { findOp, type OpEntry } from '../sql/findOp.js';
import type { BaseDiskRecord, BeginForkResult } from '../types.js';

export function findBegunFork(db: Database, op: string): { entry: OpEntry; begun: BeginForkResult } | null {
  const entry = findOp(db, op, 'beginFork');
  return entry ? { entry, begun: entry.result as BeginForkResult } : null;
}

/** The still-creating base of fork `op`, or a clear refusal. */
export function requireBegunFork(
  db: Database,
  op: string,
  doing: string,
): { begun: OpEntry; result: BeginForkResult; base: BaseDiskRecord } {
  const found = findBegunFork(db, op);
  if (!found) throw new ForkpointError(ErrorCodes.CONFLICT, `cannot ${doing} fork ${op}: no fork was begun under that op`, { op });
  if (found.entry.state !== 'pending') {
    throw new ForkpointError(ErrorCodes.CONFLICT, `cannot ${doing} fork ${op}: it is already ${found.entry.state}`, { op });
  }
  const base = findBaseById(db, found.begun.baseId);
  if (!base || base.state !== 'creating') {
    throw new ForkpointError(
      ErrorCodes.CONFLICT,
      `cannot ${doing} fork ${op}: base ${found.begun.baseId} is ${base ? base.state : 'gone'}, not creating`,
      { op, id: found.begun.baseId },
    );
  }
  return { begun: found.entry, result: found.begun, base };
}
