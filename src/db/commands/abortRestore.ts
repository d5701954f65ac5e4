/**
 * Undo a restore whose disk was never swapped: drop the ref beginRestore
 * added (only that one: a box that already held it keeps it) and settle the
 * journal as aborted, so the same op may start over. Aborting what never
 * began is a no-op; aborting a committed restore is refused.
 */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { findOp } from '../sql/findOp.js';
import { removeRef } from '../sql/removeRef.js';
import { settleOp } from '../sql/settleOp.js';
import type { BeginRestoreResult } from '../types.js';
import type { CommandHandler } from './context.js';

export const abortRestore: CommandHandler<'abortRestore'> = (db, cmd, ctx) => {
  const entry = findOp(db, cmd.op, 'beginRestore');
  if (!entry || entry.state === 'aborted') return { boxId: null };
  const begun = entry.result as BeginRestoreResult;
  if (entry.state === 'done') {
    throw new ForkpointError(ErrorCodes.CONFLICT, `cannot abort restore ${cmd.op}: it is already committed`, { op: cmd.op, id: begun.boxId });
  }
  if (begun.addedRef) removeRef(db, begun.baseId, begun.boxId);
  settleOp(db, cmd.op, 'beginRestore', 'aborted', ctx.now());
  return { boxId: begun.boxId };
};
