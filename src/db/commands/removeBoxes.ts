/**
 * Forget many boxes in one transaction (a bulk `box rm`, forgetBoxes.ts): a box that is refused
 * (unknown, still being created, being forked) is reported alone and the others go. Journalled as
 * one op: a retried job gets the same outcomes, per box, whatever happened since.
 */
import type { BoxRemovalOutcome } from '../types.js';
import type { CommandHandler } from './context.js';
import { forgetBoxes } from './forgetBoxes.js';
import { uniqueSorted } from './guards.js';

export const removeBoxes: CommandHandler<'removeBoxes'> = (db, cmd, ctx) => {
  const outcomes = forgetBoxes(db, cmd.boxIds, ctx).map((r, i): BoxRemovalOutcome => (r instanceof Error ? { ok: false, boxId: cmd.boxIds[i]!, error: r.toJSON() } : { ok: true, ...r }));
  return { outcomes, touchedBases: uniqueSorted(outcomes.flatMap((o) => (o.ok ? o.touchedBases : []))) };
};
