/** Bases left `deleting`: the GC decision was made, so the gc flow finishes it (a claim of a deleting base is handed out again). */
import { existsSync } from 'node:fs';
import { listUnsettledBases } from '../../db/sql/listUnsettledBases.js';
import { gcJob } from '../flows/gc.js';
import { act, type RecoveryContext, type RecoveryItem } from './context.js';

export async function recoverDeleting(ctx: RecoveryContext): Promise<RecoveryItem[]> {
  const out: RecoveryItem[] = [];
  for (const base of listUnsettledBases(ctx.db)) {
    if (base.state !== 'deleting') continue;
    const present = existsSync(base.basePath);
    const problem = `base ${base.id} was claimed for deletion but not finished (file ${present ? 'present' : 'gone'})`;
    const action = present ? 'delete the file, then the record' : 'delete the record';
    out.push(await act(ctx, { subject: 'base', id: base.id, path: base.basePath, problem, action }, (flows) => gcJob(flows, { baseId: base.id })));
  }
  return out;
}
