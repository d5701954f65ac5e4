/**
 * Undo a fork's records: the creating base and the clone targets it
 * registered. Aborting an op that never began is a no-op (the pipeline aborts
 * after any failure, including a refused beginFork); aborting a committed
 * fork is refused, since the source box now reads the base.
 */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { deleteBase } from '../sql/deleteBase.js';
import { deleteBox } from '../sql/deleteBox.js';
import { findBaseById } from '../sql/findBaseById.js';
import { listBoxes } from '../sql/listBoxes.js';
import { settleOp } from '../sql/settleOp.js';
import type { CommandHandler } from './context.js';
import { findBegunFork } from './forkJournal.js';

export const abortFork: CommandHandler<'abortFork'> = (db, cmd, ctx) => {
  const found = findBegunFork(db, cmd.op);
  if (!found) return { baseId: null };
  if (found.entry.state === 'done') {
    throw new ForkpointError(ErrorCodes.CONFLICT, `cannot abort fork ${cmd.op}: it is already committed`, {
      op: cmd.op,
      id: found.begun.baseId,
    });
  }
  const base = findBaseById(db, found.begun.baseId);
  for (const box of listBoxes(db, { opId: cmd.op })) {
    if (box.state === 'creating' && box.baseId === found.begun.baseId) deleteBox(db, box.id);
  }
  if (base && base.state === 'creating') deleteBase(db, base.id);
  settleOp(db, cmd.op, 'beginFork', 'aborted', ctx.now());
  return { baseId: found.begun.baseId };
};
