/**
 * Idempotency per operation id: a command carrying `op` is looked up in the
 * op journal first; if it ran, its first result is returned and nothing
 * changes. Re-using an op id for a different command payload is refused, so
 * a bug upstream cannot silently turn into "nothing happened".
 *
 * One exception: an operation that was aborted (beginFork undone by
 * abortFork, createBox by abortBox, by the job itself or by recovery) left
 * nothing behind, so the same op starts over from scratch. Replaying the
 * aborted result instead would hand a retried job the id of a base or box
 * that no longer exists, and the job would then work on files with no record.
 */
import type { Database } from 'better-sqlite3';
import { canonicalJson } from '../canonical-json.js';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { handlers, OPENS_PENDING } from './commands/index.js';
import type { CommandContext, CommandHandler } from './commands/context.js';
import { findOp, findOpPayloadText } from './sql/findOp.js';
import { deleteOps } from './sql/deleteOps.js';
import { insertOp } from './sql/insertOp.js';
import type { WriterCommand, WriterCommandType, WriterResults } from './types.js';

/** Commands whose aborted run is started over. */
const REDONE_AFTER_ABORT: ReadonlySet<WriterCommandType> = new Set<WriterCommandType>(['beginFork', 'createBox', 'beginRestore', 'beginCompact', 'beginImport']);

/**
 * Aborts are idempotent by themselves (aborting what is gone is a no-op), and
 * must take effect again when a started-over operation fails again, so their
 * results are never replayed.
 */
const NEVER_REPLAYED: ReadonlySet<WriterCommandType> = new Set<WriterCommandType>(['abortFork', 'abortBox', 'abortRestore', 'abortCompact', 'abortImport']);

/** Run one (already validated) command inside the caller's transaction, journalled if it has an op. */
export function runJournaled<T extends WriterCommandType>(
  db: Database,
  cmd: Extract<WriterCommand, { type: T }>,
  ctx: CommandContext,
): WriterResults[T] {
  const handler = handlers[cmd.type] as CommandHandler<T>;
  if (!('op' in cmd) || NEVER_REPLAYED.has(cmd.type)) return handler(db, cmd, ctx);
  const payloadJson = canonicalJson(cmd);
  if (REDONE_AFTER_ABORT.has(cmd.type) && findOp(db, cmd.op, cmd.type)?.state === 'aborted') deleteOps(db, cmd.op, [cmd.type]);
  const priorPayload = findOpPayloadText(db, cmd.op, cmd.type);
  if (priorPayload !== null) {
    if (priorPayload !== payloadJson) {
      throw new ForkpointError(
        ErrorCodes.CONFLICT,
        `op ${cmd.op} already ran ${cmd.type} with different arguments; use a new op id`,
        { op: cmd.op, field: 'op' },
      );
    }
    return findOp(db, cmd.op, cmd.type)!.result as WriterResults[T];
  }
  const result = handler(db, cmd, ctx);
  insertOp(db, {
    opId: cmd.op,
    command: cmd.type,
    state: OPENS_PENDING.has(cmd.type) ? 'pending' : 'done',
    payloadJson,
    resultJson: JSON.stringify(result),
    now: ctx.now(),
  });
  return result;
}
