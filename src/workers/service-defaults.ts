/**
 * The job options the service applies to a job added without them (a plain
 * BullMQ producer that only gives a name and a payload gets `attempts: 0`, no
 * backoff and no retention). Retention is a worker option (BullMQ uses the
 * job's own `removeOnComplete`/`removeOnFail` when it has them, the worker's
 * otherwise). Retries are not: BullMQ retries only jobs that ask, so for a job
 * that did not, the processor puts a retryable failure back as a delayed job
 * itself, with the same backoff, up to the same number of runs.
 */
import { DelayedError, type Job, type WorkerOptions } from 'bullmq';
import { SERVICE_JOB_DEFAULTS } from '../contract/job-defaults.js';
import type { QueueRole } from '../contract/queues.js';

/** The worker options that carry the retention defaults. */
export function retentionDefaults(queue: QueueRole): Pick<WorkerOptions, 'removeOnComplete' | 'removeOnFail'> {
  const d = SERVICE_JOB_DEFAULTS[queue];
  return { removeOnComplete: d.removeOnComplete, removeOnFail: d.removeOnFail };
}

/** Exponential, as BullMQ's own: delay · 2^(runs so far − 1). */
export const defaultRetryDelayMs = (queue: QueueRole, runs: number): number => SERVICE_JOB_DEFAULTS[queue].backoff.delay * 2 ** Math.max(0, runs - 1);

/**
 * For a job that asked for no attempts, after a retryable failure: move it back as a delayed job
 * and return the error the processor must throw (BullMQ then leaves it delayed, not failed), or
 * null when the job asked for its own attempts (BullMQ retries those) or has had its runs.
 */
export async function retryUnderDefaults(job: Job, token: string | undefined, queue: QueueRole): Promise<DelayedError | null> {
  if ((job.opts.attempts ?? 0) > 0) return null;
  const runs = job.attemptsStarted;
  if (runs >= SERVICE_JOB_DEFAULTS[queue].attempts) return null;
  await job.moveToDelayed(Date.now() + defaultRetryDelayMs(queue, runs), token);
  return new DelayedError();
}
