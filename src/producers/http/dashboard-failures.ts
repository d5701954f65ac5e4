/**
 * How bull-board shows a failed job. Every refused request fails its job with
 * BullMQ's UnrecoverableError and a stack trace, which made a typo look like
 * a crash. The board's answers (not what Redis stores: producers still parse
 * the reason) get the class in front of the reason and in the job's name, and
 * a user error loses its stack: the stack is ours, the mistake was not.
 */
import { errorClass } from './error-class.js';

export interface BoardJob {
  name: string;
  failedReason?: string | null;
  stacktrace?: string[];
}

const CODE = /^(E_[A-Z0-9_]+):/;
export const USER_ERROR = 'user error';
export const FAULT = 'FAULT';

/** The class label for a failed reason as BullMQ stores it (`E_CODE: message…`); null when the job did not fail. */
export function failureLabel(failedReason: string | null | undefined): string | null {
  if (!failedReason) return null;
  const code = CODE.exec(failedReason)?.[1];
  return errorClass(code) === 'user' ? USER_ERROR : FAULT;
}

/** The job as the board shows it; jobs that did not fail, and ones already marked, are left as they are. */
export function markFailure<J extends BoardJob>(job: J): J {
  const label = failureLabel(job.failedReason);
  if (label === null || job.failedReason!.startsWith(`${label} · `)) return job;
  return {
    ...job,
    name: `${job.name} · ${label}`,
    failedReason: `${label} · ${job.failedReason}`,
    ...(label === USER_ERROR ? { stacktrace: [] } : {}),
  };
}

/** Marks the jobs in any board answer that carries them (`/api/queues` lists, `/api/queues/:q/:id`). */
export function markFailuresIn(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const b = body as { queues?: { jobs?: BoardJob[] }[]; job?: BoardJob };
  if (Array.isArray(b.queues)) {
    return { ...b, queues: b.queues.map((q) => (Array.isArray(q.jobs) ? { ...q, jobs: q.jobs.map(markFailure) } : q)) };
  }
  if (b.job && typeof b.job === 'object') return { ...b, job: markFailure(b.job) };
  return body;
}
