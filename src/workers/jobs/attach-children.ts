/**
 * Give boxes their COW children of one base: chunks of children written in
 * parallel by the file pool, each chunk's refs committed in one writer
 * command (not one transaction per child). Boxes already ready are skipped,
 * so a retried job only finishes what is left.
 */
import { createHash } from 'node:crypto';
import { findBox } from '../../db/sql/findBox.js';
import type { BaseDiskRecord } from '../../db/types.js';
import { boxDiskPath } from '../../layout.js';
import { mapLimit, type JobContext } from './context.js';

/** Children per file task: big enough to amortise a thread hop and a folder fsync, small enough for steady progress. */
export const CHILDREN_PER_TASK = 32;

/** A short op id for a sub-step, stable for the same set of boxes. */
export const subOp = (op: string, tag: string, parts: string[]): string =>
  `${op.slice(0, 40)}-${tag}${createHash('sha256').update(parts.join('\0')).digest('base64url').slice(0, 12)}`;

export async function attachChildren(ctx: JobContext, op: string, base: BaseDiskRecord, boxIds: string[]): Promise<string[]> {
  const todo = boxIds.filter((id) => findBox(ctx.reader, id)?.state !== 'ready');
  for (const id of todo) {
    // A box row that a recovery removed (its half-written disk with it) is journalled again.
    if (!findBox(ctx.reader, id)) await ctx.writer.apply({ type: 'createBox', op: subOp(op, 'b', [id]), boxId: id, baseId: base.id });
  }
  const chunks: string[][] = [];
  for (let i = 0; i < todo.length; i += CHILDREN_PER_TASK) chunks.push(todo.slice(i, i + CHILDREN_PER_TASK));
  let done = boxIds.length - todo.length;
  await ctx.progress({ done, total: boxIds.length });
  await mapLimit(chunks, ctx.parallelism, async (chunk) => {
    await ctx.files.run({ type: 'writeChildren', base: base.basePath, children: chunk.map((id) => boxDiskPath(ctx.layout, id)), fsync: ctx.fsync });
    await ctx.writer.apply({ type: 'addRefs', op: subOp(op, 'r', chunk), baseId: base.id, boxIds: chunk });
    done += chunk.length;
    await ctx.progress({ done, total: boxIds.length });
  });
  return boxIds;
}
