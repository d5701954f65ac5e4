/**
 * GC with its cascade, driven through the writer: claim (the decision, in one
 * transaction) → unlink → finish (row gone, parent named) → the parent next.
 * A crash between any two steps leaves a `deleting` row that recovery, or a
 * retried claim, finishes.
 */
import { faultPoint } from '../../faults.js';
import type { ClaimGcResult } from '../types.js';
import type { DbWriter } from '../writer.js';
import { unlinkBaseStep, type StepOptions } from './steps.js';

/** Finish a claim already made (by claimGc or an explicit removal); returns the parent to try next. */
export function finishClaim(writer: DbWriter, claim: Extract<ClaimGcResult, { claimed: true }>, o: StepOptions = {}): string | null {
  unlinkBaseStep(writer.layout, claim.path, o);
  faultPoint('gc:after-unlink');
  return writer.apply({ type: 'finishGc', baseId: claim.baseId }).parentId;
}

/** Try to collect `baseId` and then each parent in turn; returns the ids collected, nearest first. */
export function collectGarbage(writer: DbWriter, baseId: string, o: StepOptions = {}): string[] {
  const collected: string[] = [];
  let next: string | null = baseId;
  while (next !== null) {
    const claim: ClaimGcResult = writer.apply({ type: 'claimGc', baseId: next });
    if (!claim.claimed) break;
    faultPoint('gc:after-claim');
    next = finishClaim(writer, claim, o);
    collected.push(claim.baseId);
  }
  return collected;
}

/** GC every base in `baseIds` (e.g. the bases a removed box touched). */
export function collectAll(writer: DbWriter, baseIds: readonly string[], o: StepOptions = {}): string[] {
  return baseIds.flatMap((id) => collectGarbage(writer, id, o));
}
