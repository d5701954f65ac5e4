/** The folders of these removing boxes are gone: delete their rows in one transaction (finishRemoveBox for each). */
import type { CommandHandler } from './context.js';
import { finishRemoveBox } from './finishRemoveBox.js';

export const finishRemoveBoxes: CommandHandler<'finishRemoveBoxes'> = (db, cmd, ctx) => ({
  removed: cmd.boxIds.filter((boxId) => finishRemoveBox(db, { type: 'finishRemoveBox', boxId }, ctx).removed),
});
