/** Forget a box: every ref it holds and its row. Its disk is deleted by the caller, then GC runs on touchedBases. */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { boxDiskPath } from '../../layout.js';
import { parseBoxId } from '../../names.js';
import { deleteBox } from '../sql/deleteBox.js';
import { findBox } from '../sql/findBox.js';
import { removeAllRefsForBox } from '../sql/removeAllRefsForBox.js';
import type { CommandHandler } from './context.js';
import { refuseForkInProgress, uniqueSorted } from './guards.js';

export const removeBox: CommandHandler<'removeBox'> = (db, cmd, ctx) => {
  const boxId = parseBoxId(cmd.boxId);
  const box = findBox(db, boxId);
  if (box?.state === 'creating') {
    throw new ForkpointError(ErrorCodes.CONFLICT, `cannot remove box ${boxId}: it is still being created (op ${box.opId})`, {
      id: boxId,
    });
  }
  refuseForkInProgress(db, boxId, 'remove');
  const touched = removeAllRefsForBox(db, boxId);
  // Refs without a box row are accepted (boxes this home does not manage); nothing at all is an unknown box.
  if (!box && touched.length === 0) throw new ForkpointError(ErrorCodes.UNKNOWN_BOX, `unknown box ${boxId}`, { id: boxId });
  if (box) deleteBox(db, boxId);
  return {
    boxId,
    diskPath: box?.diskPath ?? boxDiskPath(ctx.layout, boxId),
    touchedBases: uniqueSorted(box?.baseId ? [...touched, box.baseId] : touched),
  };
};
