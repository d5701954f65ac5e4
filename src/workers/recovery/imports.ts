/**
 * OCI imports left pending (flows/import.ts). Nothing reads an import's files before its commit
 * (its box is still creating), so a cut-off import is always undone: the files it copied in, its
 * box folder, its rows. The same request run again imports anew.
 */
import { listPendingOps } from '../../db/sql/listPendingOps.js';
import type { BeginImportResult } from '../../db/types.js';
import { undoImport } from '../flows/import.js';
import { act, type RecoveryContext, type RecoveryItem } from './context.js';

export async function recoverImports(ctx: RecoveryContext): Promise<RecoveryItem[]> {
  const out: RecoveryItem[] = [];
  for (const entry of listPendingOps(ctx.db).filter((e) => e.command === 'beginImport')) {
    const begun = entry.result as BeginImportResult;
    out.push(
      await act(ctx, { subject: 'box', id: begun.boxId, path: begun.diskPath, op: entry.opId, problem: `import ${entry.opId} of box ${begun.boxId} was cut off before its commit`, action: 'delete what it copied in and abort' }, (flows) =>
        undoImport(flows, entry.opId, begun),
      ),
    );
  }
  return out;
}
