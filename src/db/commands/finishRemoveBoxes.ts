/** The folders of these removing boxes are gone: delete their rows in one statement (finishRemoveBox for many). */
import { deleteRemovingBoxes } from '../sql/deleteRemovingBoxes.js';
import type { CommandHandler } from './context.js';

export const finishRemoveBoxes: CommandHandler<'finishRemoveBoxes'> = (db, cmd) => {
  const deleted = deleteRemovingBoxes(db, cmd.boxIds);
  return { removed: cmd.boxIds.filter((id) => deleted.has(id)) };
};
