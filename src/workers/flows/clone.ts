/** clone: one fork of the source box, then a COW child of that base for every target. */
import type { JobPayload } from '../../contract/jobs.js';
import { attachChildren } from './attach-children.js';
import type { JobContext } from './context.js';
import { forkBox } from './fork.js';

export interface CloneResult {
  baseId: string;
  source: string;
  targets: string[];
}

export async function cloneJob(ctx: JobContext, p: JobPayload<'clone'>): Promise<CloneResult> {
  const base = await forkBox(ctx, { op: p.op, sourceBox: p.source, kind: 'clone_base', targets: p.targets });
  await attachChildren(ctx, p.op, base, p.targets);
  return { baseId: base.id, source: p.source, targets: p.targets };
}
