/** clone: one fork of the source box, then a COW child of that base for every target. */
import type { JobPayload } from '../../contract/jobs.js';
import { findOp } from '../../db/sql/findOp.js';
import { attachChildren } from './attach-children.js';
import { requestCompactionIfDeep } from './compact.js';
import { stopIfCancelled } from './cancel.js';
import type { JobContext } from './context.js';
import { forkBox } from './fork.js';

export interface CloneResult {
  baseId: string;
  source: string;
  targets: string[];
}

export async function cloneJob(ctx: JobContext, p: JobPayload<'clone'>): Promise<CloneResult> {
  // A job cancelled while it waited must not fork for nothing. One whose fork was journalled (a retry)
  // goes on to finish it, and stops before its first chunk of children, which undoes the targets.
  if (!findOp(ctx.reader, p.op, 'beginFork')) await stopIfCancelled(ctx, p.op, 'before it began');
  // Before the fork, which can take a while (a flatten copies the whole disk), so watchers see why 0/N.
  await ctx.progress({ done: 0, total: p.targets.length, phase: 'forking' });
  const base = await forkBox(ctx, { op: p.op, sourceBox: p.source, kind: 'clone_base', targets: p.targets });
  await attachChildren(ctx, p.op, base, p.targets);
  await requestCompactionIfDeep(ctx, [base.id]); // in the background: this clone never waits for it
  return { baseId: base.id, source: p.source, targets: p.targets };
}
