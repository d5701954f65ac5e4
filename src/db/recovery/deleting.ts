/** Bases left `deleting`: the GC decision was made, so finish it (unlink if still there, drop the row, cascade). */
import { existsSync } from 'node:fs';
import { collectGarbage } from '../core/gc.js';
import { unlinkBaseStep } from '../core/steps.js';
import { listUnsettledBases } from '../sql/listUnsettledBases.js';
import type { RecoveryContext, RecoveryItem } from './context.js';
import { act } from './forks.js';

export function recoverDeleting(ctx: RecoveryContext): RecoveryItem[] {
  const out: RecoveryItem[] = [];
  for (const base of listUnsettledBases(ctx.db)) {
    if (base.state !== 'deleting') continue;
    const present = existsSync(base.basePath);
    out.push(
      act(
        ctx,
        {
          subject: 'base',
          id: base.id,
          path: base.basePath,
          problem: `base ${base.id} was claimed for deletion but not finished (file ${present ? 'present' : 'gone'})`,
          action: present ? 'delete the file, then the record' : 'delete the record',
        },
        () => {
          unlinkBaseStep(ctx.layout, base.basePath, { fsync: ctx.fsync });
          const { parentId } = ctx.writer!.apply({ type: 'finishGc', baseId: base.id });
          ctx.collected.push(base.id);
          if (parentId) ctx.collected.push(...collectGarbage(ctx.writer!, parentId, { fsync: ctx.fsync }));
        },
      ),
    );
  }
  return out;
}
