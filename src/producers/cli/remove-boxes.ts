/**
 * `box rm` of many boxes as requests (request.ts): one remove-box job per group of up to
 * MAX_REMOVE_BOXES ids (one transaction, folders in parallel, one GC request per base), each
 * under the op of its request, so the same command after a crash or Ctrl-C joins the job or runs
 * it again under that op, whose journal answers what the first run removed (not "unknown box").
 *
 * The request is the set of ids, in any order: they are sorted before they are grouped, and the
 * payload is the sorted group (the same op with another payload is refused). Its files are
 * forgotten only once every group has its answer, so a rerun after a crash in the middle of a
 * large removal resumes every group, the finished ones included.
 *
 * A resumed request may be old: the box it removed may have been made again since. Its answer
 * says "removed" either way, so on a resumed run the boxes it reports removed are removed once
 * more under a new op; there "unknown" means removed by the first run.
 */
import { chunks } from '../../chunks.js';
import { isForkpointError, type ErrorCode, type ErrorDetails } from '../../errors.js';
import { beginRequest, type Request } from './request.js';
import type { Session } from './session.js';

/** What `box rm` did with one box (`--json` prints one per box, in the order given). */
export interface RemoveOutcome {
  boxId: string;
  outcome: 'removed' | 'unknown' | 'failed';
  touchedBases?: string[];
  error?: { code: ErrorCode | null; message: string; details?: ErrorDetails };
}

/** Remove `boxIds` (unique, checked); an outcome per box, in their order. */
export async function removeBoxesAsRequests(s: Session, boxIds: readonly string[]): Promise<RemoveOutcome[]> {
  const { MAX_REMOVE_BOXES } = await import('../../contract/jobs.js');
  const sorted = [...boxIds].sort();
  const groups = chunks(sorted, MAX_REMOVE_BOXES);
  const requests = groups.map((group) => beginRequest(s, 'box rm', { boxIds: group }, undefined));
  const first = await Promise.all(groups.map((group, i) => removeGroup(s, group, requests[i]!)));
  const byId = new Map(first.flatMap((a) => a.outcomes).map((o) => [o.boxId, o]));

  const resumed = groups.flatMap((group, i) => (requests[i]!.resumed ? group.filter((id) => byId.get(id)?.outcome === 'removed') : []));
  if (resumed.length > 0) {
    // Under new ops, each a request of its own keyed on the ops above: a crash in this pass resumes it too.
    const again = await Promise.all(chunks(resumed, MAX_REMOVE_BOXES).map((group) => removeGroup(s, group, beginRequest(s, 'box rm again', { boxIds: group, after: requests.map((r) => r.op) }, undefined))));
    for (const a of again) {
      for (const o of a.outcomes) if (o.outcome !== 'unknown') byId.set(o.boxId, o);
      if (a.answered) a.request.done();
    }
  }
  if (first.every((a) => a.answered)) for (const r of requests) r.done();
  return boxIds.map((id) => byId.get(id)!);
}

/** One remove-box job for `group` under `request`'s op; `answered`: the job gave its outcomes (a failure of the whole job is an outcome per box). */
async function removeGroup(s: Session, group: string[], request: Request): Promise<{ outcomes: RemoveOutcome[]; answered: boolean; request: Request }> {
  const { queueName } = await import('../../contract/queues.js');
  try {
    const job = await s.client.removeBoxes(group, request.op);
    s.noteJob({ id: job.id, queue: queueName(s.homeId, 'ops'), rejoinable: true });
    const { outcomes } = await job.result();
    const mapped = outcomes.map((o): RemoveOutcome => (o.outcome === 'removed' ? o : { boxId: o.boxId, outcome: o.outcome === 'unknown' ? 'unknown' : 'failed', error: o.error }));
    return { outcomes: mapped, answered: true, request };
  } catch (err) {
    // The job as a whole failed (a fault, not a refusal): say so for each box; rows it left `removing` are finished by removing them again or by the next start's recovery.
    const error = isForkpointError(err) ? err.toJSON() : { code: null, message: err instanceof Error ? err.message : String(err) };
    return { outcomes: group.map((boxId) => ({ boxId, outcome: 'failed', error })), answered: false, request };
  }
}
