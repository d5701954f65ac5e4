/**
 * Queue naming. Names are colon-free (BullMQ joins prefix and name with ':'),
 * and carry the home id so homes sharing one Redis never take each other's
 * jobs and a dashboard shows whose queue it is:
 *
 *   <prefix>:forkpoint-<homeId>-ops   fork, clone, snapshots, box create/remove, rootfs import
 *   <prefix>:forkpoint-<homeId>-gc    gc (one base, cascades enqueue the parent) and the periodic sweep
 */
import { GC_JOBS, type JobName } from './jobs.js';

export type QueueRole = 'ops' | 'gc';

export const queueName = (homeId: string, role: QueueRole): string => `forkpoint-${homeId}-${role}`;

export const queueRoleOf = (job: JobName): QueueRole => (GC_JOBS.has(job) ? 'gc' : 'ops');

/** Job ids that make repeated requests collapse. Colon-free, as BullMQ requires for custom ids. */
export const gcJobId = (baseId: string): string => `gc-${baseId}`;
export const opJobId = (job: JobName, op: string): string => `${job}-${op}`;
/** Sweeps asked for by callers collapse into one while it waits or runs (finished GC jobs are removed). */
export const SWEEP_JOB_ID = 'sweep-manual';

/** Ops jobs are retried on transient failures; bad input fails at once. */
export const OPS_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

/**
 * GC jobs are removed when they end, failed ones too: a kept job would hold
 * its id (`gc-<baseId>`) and silently swallow every later request for that
 * base, sweeps included. Failures are in the logs and metrics instead.
 */
export const GC_JOB_OPTIONS = { attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: true } as const;
