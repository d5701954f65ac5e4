/**
 * Forget boxes (removeBox, removeBoxes): every ref each holds goes, and its row turns
 * `removing`. The row stays until the caller has deleted the folder (finishRemoveBox): while it
 * exists no new box can take the id, so the folder the caller deletes is always this box's,
 * never a new box's made under the same name. Then GC runs on touchedBases.
 *
 * A box is refused whole, before anything of it changes: still being created, or its disk held by
 * a fork or restore in progress; one with no row and no ref is unknown. The rest go together, each step one
 * statement for all of them: a bulk removal's 2,000 boxes cost ~10 statements, not ~10,000 and a
 * savepoint each.
 */
import type { Database } from 'better-sqlite3';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { boxDiskPath } from '../../layout.js';
import { findBoxes } from '../sql/findBoxes.js';
import { markBoxesRemoving } from '../sql/markBoxesRemoving.js';
import { removeRefsOfBoxes } from '../sql/removeRefsOfBoxes.js';
import type { RemoveBoxResult } from '../types.js';
import type { CommandContext } from './context.js';
import { diskBusyError, diskWorkInFlight, uniqueSorted } from './guards.js';

/** Each of `boxIds` (checked ids), in their order: what removing it did, or why it was refused (nothing of it changed). */
export function forgetBoxes(db: Database, boxIds: readonly string[], ctx: CommandContext): (RemoveBoxResult | ForkpointError)[] {
  const boxes = findBoxes(db, boxIds);
  const work = diskWorkInFlight(db);
  const refusal = (boxId: string): ForkpointError | null => {
    const box = boxes.get(boxId);
    if (box?.state === 'creating') {
      return new ForkpointError(ErrorCodes.CONFLICT, `cannot remove box ${boxId}: it is still being created (op ${box.opId})`, { id: boxId });
    }
    return diskBusyError(work, boxId, 'remove');
  };
  const refused = new Map(boxIds.map((id) => [id, refusal(id)] as const).filter((e): e is [string, ForkpointError] => e[1] !== null));
  const going = boxIds.filter((id) => !refused.has(id));
  const lost = removeRefsOfBoxes(db, going);
  // A box already removing (a second request for it) stays so: whichever runs first finishes it.
  markBoxesRemoving(db, going.filter((id) => boxes.has(id)));
  return boxIds.map((boxId) => {
    const box = boxes.get(boxId);
    const touched = lost.get(boxId) ?? [];
    const why = refused.get(boxId);
    if (why) return why;
    // Refs without a box row are accepted (boxes this home does not manage); nothing at all (nothing changed) is an unknown box.
    if (!box && touched.length === 0) return new ForkpointError(ErrorCodes.UNKNOWN_BOX, `unknown box ${boxId}`, { id: boxId });
    return { boxId, diskPath: box?.diskPath ?? boxDiskPath(ctx.layout, boxId), touchedBases: uniqueSorted(box?.baseId ? [...touched, box.baseId] : touched) };
  });
}
