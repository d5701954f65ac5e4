/**
 * The removing box's folder is gone: delete its row, which frees the id.
 * Idempotent (a box already gone is a no-op, so the step can re-run); a box
 * that is not removing is left alone (it is not the one that was removed).
 */
import { parseBoxId } from '../../names.js';
import { deleteRemovingBoxes } from '../sql/deleteRemovingBoxes.js';
import type { CommandHandler } from './context.js';

export const finishRemoveBox: CommandHandler<'finishRemoveBox'> = (db, cmd) => {
  const boxId = parseBoxId(cmd.boxId);
  return { boxId, removed: deleteRemovingBoxes(db, [boxId]).has(boxId) };
};
