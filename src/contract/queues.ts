/**
 * Queue naming. Names are colon-free (BullMQ joins prefix and name with ':'),
 * and carry the home id so homes sharing one Redis never take each other's
 * jobs and a dashboard shows whose queue it is:
 *
 *   <prefix>:forkpoint-<homeId>-ops   fork, clone, snapshots, box create/remove, rootfs import
 *   <prefix>:forkpoint-<homeId>-gc    gc (one base, cascades enqueue the parent), the periodic sweep, compact
 */
import { GC_JOBS, type JobName } from './jobs.js';

export type QueueRole = 'ops' | 'gc';

export const queueName = (homeId: string, role: QueueRole): string => `forkpoint-${homeId}-${role}`;

export const queueRoleOf = (job: JobName): QueueRole => (GC_JOBS.has(job) ? 'gc' : 'ops');

/** Job ids that make repeated requests collapse. Colon-free, as BullMQ requires for custom ids. */
export const gcJobId = (baseId: string): string => `gc-${baseId}`;
/** Compaction requests for one base collapse into one job while it waits. */
export const compactJobId = (baseId: string): string => `compact-${baseId}`;
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

/** How many finished runs of the service's own GC jobs stay in Redis, for the dashboard's GC history. */
export const GC_HISTORY_KEPT = 500;

/**
 * The service's own GC jobs (a cascade's parent, a sweep's candidates) keep the last runs, so
 * the dashboard shows what GC did. A kept job would hold a shared id, so each run gets its own
 * (`gc-<baseId>-<run>`) and repeats collapse by deduplication id (`gc-<baseId>`) instead, which
 * BullMQ holds from the add until the job completes or fails for good, as the job id did.
 */
export const GC_HISTORY_JOB_OPTIONS = { ...GC_JOB_OPTIONS, removeOnComplete: { count: GC_HISTORY_KEPT }, removeOnFail: { count: GC_HISTORY_KEPT } } as const;

let gcRun = 0;
/**
 * A GC job run's own id: its base's collapsing id, the time, and a counter that never wraps (a
 * sweep asks for thousands in one millisecond; two alike would collapse and drop a request).
 * Colon-free. The time keeps ids of a restarted service apart from the last one's kept runs.
 */
export const gcRunJobId = (baseId: string): string => `${gcJobId(baseId)}-${Date.now().toString(36)}-${(gcRun++).toString(36)}`;
