/**
 * The restored disk is in place (a fresh COW child of the snapshot): the box
 * reads the snapshot's chain only, so in one transaction it refs the snapshot
 * alone and its row points there. The bases it held before are released; the
 * caller asks GC about them (a cascade collects the old chain if nothing else reads it).
 */
import { removeRefsForBoxExcept } from '../sql/removeRefsForBoxExcept.js';
import { settleOp } from '../sql/settleOp.js';
import { updateBox } from '../sql/updateBox.js';
import type { BeginRestoreResult } from '../types.js';
import type { CommandHandler } from './context.js';
import { requireBegunRestore } from './restoreJournal.js';
import { uniqueSorted } from './guards.js';

export const commitRestore: CommandHandler<'commitRestore'> = (db, cmd, ctx) => {
  const begun: BeginRestoreResult = requireBegunRestore(db, cmd.op, 'commit');
  const released = removeRefsForBoxExcept(db, begun.boxId, begun.baseId);
  updateBox(db, begun.boxId, 'ready', begun.baseId);
  settleOp(db, cmd.op, 'beginRestore', 'done', ctx.now());
  const before = begun.previousBaseId !== null && begun.previousBaseId !== begun.baseId ? [begun.previousBaseId] : [];
  return { boxId: begun.boxId, baseId: begun.baseId, touchedBases: uniqueSorted([...released, ...before]) };
};
