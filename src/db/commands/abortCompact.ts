/** Undo a compaction that re-pointed no box: its creating copy's row goes (its file is already gone). */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { deleteBase } from '../sql/deleteBase.js';
import { findBaseById } from '../sql/findBaseById.js';
import { findOp } from '../sql/findOp.js';
import { settleOp } from '../sql/settleOp.js';
import type { BeginCompactResult } from '../types.js';
import type { CommandHandler } from './context.js';

export const abortCompact: CommandHandler<'abortCompact'> = (db, cmd, ctx) => {
  const entry = findOp(db, cmd.op, 'beginCompact');
  if (!entry) return { baseId: null };
  const begun = entry.result as BeginCompactResult;
  if (entry.state === 'done') {
    throw new ForkpointError(ErrorCodes.CONFLICT, `cannot abort compaction ${cmd.op}: it is already committed`, { op: cmd.op, id: begun.baseId });
  }
  if (findBaseById(db, begun.baseId)?.state === 'creating') deleteBase(db, begun.baseId);
  settleOp(db, cmd.op, 'beginCompact', 'aborted', ctx.now());
  return { baseId: begun.baseId };
};
