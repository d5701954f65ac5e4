/**
 * Forget many boxes in one transaction (a bulk `box rm`): each box as
 * removeBox does it, in its own savepoint, so a box that is refused (unknown,
 * still being created, being forked) is rolled back and reported alone and
 * the others go. Journalled as one op: a retried job gets the same outcomes,
 * per box, whatever happened since.
 */
import { ForkpointError, ErrorCodes } from '../../errors.js';
import type { BoxRemovalOutcome } from '../types.js';
import type { CommandHandler } from './context.js';
import { removeBox } from './removeBox.js';
import { uniqueSorted } from './guards.js';

export const removeBoxes: CommandHandler<'removeBoxes'> = (db, cmd, ctx) => {
  const outcomes = cmd.boxIds.map((boxId): BoxRemovalOutcome => {
    try {
      // A nested better-sqlite3 transaction is a SAVEPOINT: a refusal undoes this box only.
      return { ok: true, ...db.transaction(() => removeBox(db, { type: 'removeBox', op: cmd.op, boxId }, ctx))() };
    } catch (err) {
      // Only refusals are outcomes; anything else (a full disk, an I/O error) fails the whole command.
      if (!(err instanceof ForkpointError) || err.code === ErrorCodes.IO || err.code === ErrorCodes.NO_SPACE) throw err;
      return { ok: false, boxId, error: err.toJSON() };
    }
  });
  return { outcomes, touchedBases: uniqueSorted(outcomes.flatMap((o) => (o.ok ? o.touchedBases : []))) };
};
