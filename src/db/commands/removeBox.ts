/** Forget one box (forgetBoxes.ts): a refusal is thrown. */
import { parseBoxId } from '../../names.js';
import type { CommandHandler } from './context.js';
import { forgetBoxes } from './forgetBoxes.js';

export const removeBox: CommandHandler<'removeBox'> = (db, cmd, ctx) => {
  const [removed] = forgetBoxes(db, [parseBoxId(cmd.boxId)], ctx);
  if (removed instanceof Error) throw removed;
  return removed!;
};
