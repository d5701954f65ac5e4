/** Undo an uncommitted import's records (its files are already gone): the creating box row, then its new base rows, top first. */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { deleteBase } from '../sql/deleteBase.js';
import { deleteBox } from '../sql/deleteBox.js';
import { findBaseById } from '../sql/findBaseById.js';
import { findBox } from '../sql/findBox.js';
import { findOp } from '../sql/findOp.js';
import { settleOp } from '../sql/settleOp.js';
import type { BeginImportResult } from '../types.js';
import type { CommandHandler } from './context.js';

export const abortImport: CommandHandler<'abortImport'> = (db, cmd, ctx) => {
  const entry = findOp(db, cmd.op, 'beginImport');
  if (!entry) return { boxId: null, touchedBases: [] };
  const begun = entry.result as BeginImportResult;
  if (entry.state === 'done') throw new ForkpointError(ErrorCodes.CONFLICT, `cannot abort import ${cmd.op}: it is already committed`, { op: cmd.op, id: begun.boxId });
  const box = findBox(db, begun.boxId);
  if (box && box.state === 'creating' && box.opId === cmd.op) deleteBox(db, box.id);
  for (const l of [...begun.layers].reverse()) {
    if (!l.reused && findBaseById(db, l.baseId)?.state === 'creating') deleteBase(db, l.baseId);
  }
  settleOp(db, cmd.op, 'beginImport', 'aborted', ctx.now());
  return { boxId: begun.boxId, touchedBases: begun.layers.filter((l) => l.reused).map((l) => l.baseId) };
};
