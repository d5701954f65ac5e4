/**
 * Abort many boxes in one transaction: a cancelled clone undoing the targets
 * it journalled and did not make (thousands of them; one transaction each
 * would cost a synchronous commit per box). Each box as abortBox does it;
 * any refusal (a box that is not `creating`) undoes them all.
 */
import type { CommandHandler } from './context.js';
import { abortBox } from './abortBox.js';
import { uniqueSorted } from './guards.js';

export const abortBoxes: CommandHandler<'abortBoxes'> = (db, cmd, ctx) => {
  const touched = cmd.boxIds.flatMap((boxId) => abortBox(db, { type: 'abortBox', op: cmd.op, boxId }, ctx).touchedBases);
  return { boxIds: cmd.boxIds, touchedBases: uniqueSorted(touched) };
};
