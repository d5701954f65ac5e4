/**
 * Cancelling a job that runs (`forkpoint jobs cancel`). A flow asks
 * `stopIfCancelled` only between steps that leave the home consistent (before
 * a fork begins; between chunks of children), so a cancelled job ends like a
 * finished one for everything it made, and like one never asked for the rest:
 * `undoUnmade` rolls back the boxes it journalled and did not finish, in the
 * order rollBackBox (box.ts) and recovery use (folders, then rows, then GC of
 * what they would have read). E_CANCELLED is not retryable, so BullMQ does
 * not run the job again. A closing pipeline stops its jobs at the same points
 * (E_SHUTTING_DOWN) but undoes nothing: the job goes back to its queue whole.
 */
import { findBox } from '../../db/sql/findBox.js';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import type { JobContext } from './context.js';

/** Rows aborted per writer command: one transaction each, short enough not to hold up other jobs' commands. */
const ABORTS_PER_COMMAND = 500;

export function cancelledError(op: string, what: string, details: Record<string, unknown> = {}): ForkpointError {
  return new ForkpointError(ErrorCodes.CANCELLED, `operation ${op} was cancelled ${what}`, { op, ...details });
}

/** Thrown at a safe point when the driver closes (context.ts `closing`): retryable, and nothing is undone. */
export function closingError(op: string, what: string): ForkpointError {
  return new ForkpointError(ErrorCodes.SHUTTING_DOWN, `operation ${op} stopped ${what}: its pipeline is closing; the home's next owner resumes it`, { op });
}

/**
 * Throw E_CANCELLED if someone asked this job to stop, or E_SHUTTING_DOWN if its pipeline closes.
 * Closing is asked first and costs no Redis read: a Ctrl-C must not wait on a Redis round trip.
 */
export async function stopIfCancelled(ctx: JobContext, op: string, what: string): Promise<void> {
  if (ctx.closing?.()) throw closingError(op, what);
  if (await ctx.cancelRequested?.()) throw cancelledError(op, what);
}

export interface UnmadeBoxes {
  /** Whether the row of `boxId`, made under `opId`, is this op's (its own op or a sub-op of it). */
  isOurs(boxId: string, opId: string): boolean;
  /** The op a batch of aborts is journalled under: one per batch (the journal keeps one result per op and command). */
  abortOp(boxIds: string[]): string;
}

/**
 * Roll back the boxes of `boxIds` that this op journalled (`creating` rows it made) and did not
 * finish. Any other row is not this op's to touch. Returns how many it undid.
 */
export async function undoUnmade(ctx: JobContext, boxIds: readonly string[], o: UnmadeBoxes): Promise<number> {
  const unmade = boxIds.filter((id) => {
    const row = findBox(ctx.reader, id);
    return row !== null && row.state === 'creating' && o.isOurs(id, row.opId);
  });
  if (unmade.length === 0) return 0;
  // Folders first (one task, one flush): a folder left without its row would be an orphan, a row
  // left without its folder is what recovery rolls back anyway.
  const { failed } = await ctx.files.run({ type: 'removeBoxDirs', home: ctx.layout.home, boxIds: unmade });
  if (failed.length > 0) throw ForkpointError.fromJSON(failed[0]!.error);
  // Rows in batches, each one transaction (one synchronous commit per box took seconds per thousand).
  const touched = new Set<string>();
  for (let i = 0; i < unmade.length; i += ABORTS_PER_COMMAND) {
    const batch = unmade.slice(i, i + ABORTS_PER_COMMAND);
    const aborted = await ctx.writer.apply({ type: 'abortBoxes', op: o.abortOp(batch), boxIds: batch });
    for (const baseId of aborted.touchedBases) touched.add(baseId);
  }
  await ctx.requestGc([...touched].sort());
  return unmade.length;
}
