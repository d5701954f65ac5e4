/**
 * A check on a live home (`GET /api/check` while `serve` runs) sees the
 * half-done state of the operations running at that moment: a base still
 * creating, a box not yet committed, a base being collected. Those are
 * progress, not problems. The pipeline knows what its active jobs work on;
 * this marks the items about those subjects, so the report's counts show only
 * what needs recovery or a person. Pure: the report in, a new report out.
 */
import { summarize, type RecoveryItem } from './context.js';
import type { RecoveryReport } from './index.js';

/** What running jobs are working on, by the ids their payloads name. */
export interface InFlightWork {
  ops: ReadonlySet<string>;
  boxes: ReadonlySet<string>;
  bases: ReadonlySet<string>;
  /** Files a job is writing into bases/ before their record exists (a rootfs import). */
  files: ReadonlySet<string>;
}

function isInFlight(item: RecoveryItem, work: InFlightWork): boolean {
  if (item.op !== undefined && work.ops.has(item.op)) return true;
  if (item.subject === 'file') return item.path !== undefined && work.files.has(item.path);
  if (item.id === undefined) return false;
  if (item.subject === 'box') return work.boxes.has(item.id);
  if (item.subject === 'base') return work.bases.has(item.id);
  return false;
}

export function markInFlight(report: RecoveryReport, work: InFlightWork): RecoveryReport {
  const problems = report.problems.map((p) => (isInFlight(p, work) ? { ...p, inFlight: true } : p));
  return { ...report, problems, summary: summarize(problems, report.collected) };
}
