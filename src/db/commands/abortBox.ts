/** A box whose disk could not be made: drop its row and refs (aborting a box already gone is a no-op). */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { parseBoxId } from '../../names.js';
import { deleteBox } from '../sql/deleteBox.js';
import { findBox } from '../sql/findBox.js';
import { removeAllRefsForBox } from '../sql/removeAllRefsForBox.js';
import { settleOp } from '../sql/settleOp.js';
import type { CommandHandler } from './context.js';
import { uniqueSorted } from './guards.js';

export const abortBox: CommandHandler<'abortBox'> = (db, cmd, ctx) => {
  const boxId = parseBoxId(cmd.boxId);
  const box = findBox(db, boxId);
  if (!box) return { boxId, touchedBases: [] };
  if (box.state !== 'creating') {
    throw new ForkpointError(ErrorCodes.CONFLICT, `cannot abort box ${boxId}: it is ${box.state}, not creating`, { id: boxId });
  }
  const touched = removeAllRefsForBox(db, boxId);
  deleteBox(db, boxId);
  settleOp(db, box.opId, 'createBox', 'aborted', ctx.now());
  return { boxId, touchedBases: uniqueSorted(box.baseId ? [...touched, box.baseId] : touched) };
};
