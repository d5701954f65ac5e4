/**
 * The job options the service applies to a job added without them: what a
 * plain BullMQ producer that gives only a name and a payload gets (printed
 * by `forkpoint jobs --json`; applied by workers/service-defaults.ts).
 */
import { GC_HISTORY_JOB_OPTIONS, GC_JOB_OPTIONS, OPS_JOB_OPTIONS } from './queues.js';

export const SERVICE_JOB_DEFAULTS = {
  ops: { attempts: OPS_JOB_OPTIONS.attempts, backoff: OPS_JOB_OPTIONS.backoff, removeOnComplete: OPS_JOB_OPTIONS.removeOnComplete, removeOnFail: OPS_JOB_OPTIONS.removeOnFail },
  gc: { attempts: GC_JOB_OPTIONS.attempts, backoff: GC_JOB_OPTIONS.backoff, removeOnComplete: GC_HISTORY_JOB_OPTIONS.removeOnComplete, removeOnFail: GC_HISTORY_JOB_OPTIONS.removeOnFail },
} as const;
