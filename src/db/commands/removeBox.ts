/**
 * Forget a box: every ref it holds goes, and its row turns `removing`. The row
 * stays until the caller has deleted the folder (finishRemoveBox): while it
 * exists no new box can take the id, so the folder the caller deletes is
 * always this box's, never a new box's made under the same name. Then GC runs
 * on touchedBases.
 */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { boxDiskPath } from '../../layout.js';
import { parseBoxId } from '../../names.js';
import { findBox } from '../sql/findBox.js';
import { removeAllRefsForBox } from '../sql/removeAllRefsForBox.js';
import { updateBox } from '../sql/updateBox.js';
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
  // A box already removing (a second request for it) stays so: whichever runs first finishes it.
  if (box) updateBox(db, boxId, 'removing', box.baseId);
  return {
    boxId,
    diskPath: box?.diskPath ?? boxDiskPath(ctx.layout, boxId),
    touchedBases: uniqueSorted(box?.baseId ? [...touched, box.baseId] : touched),
  };
};
