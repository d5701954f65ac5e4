/**
 * Everything a producer written with plain BullMQ needs, as one JSON object
 * (`forkpoint jobs --json`): where the Redis is, the prefix and queue names,
 * how to name a job so repeats collapse, the options the service applies to
 * jobs added without them, how a failure reads, and each job's payload and
 * result as JSON Schema. Pure: the caller finds the Redis.
 */
import { z } from 'zod';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { SERVICE_JOB_DEFAULTS } from './job-defaults.js';
import { JOB_NAMES, jobJsonSchemas, jobSchemas, type JobName } from './jobs.js';
import { queueName, queueRoleOf } from './queues.js';
import { jobResultJsonSchemas } from './results.js';

export interface ProducerRedis {
  /** The URL the home's workers consume from. */
  url: string;
  /** `service`: a running `forkpoint serve` recorded it; `config`: --redis / REDIS_URL / the default (no service now). */
  from: 'service' | 'config';
  /** The unix socket of that URL, if it is one (the home's private redis-server is). */
  socket: string | null;
  /** Where this home's private redis-server listens when a service had to start one. */
  privateSocket: string;
  /** ioredis options for that URL: BullMQ's `connection` as it is. */
  connection: Record<string, unknown>;
}

/**
 * How to add a job of `name` so that a repeat collapses into the first: an ops job by its op
 * (`<name>-<op>`: the same request retried joins, or replays, the first), a job of the gc queue by
 * BullMQ's deduplication id while it waits or runs (a kept finished job would swallow a job id).
 */
function addOptions(name: JobName): Record<string, unknown> {
  const fields = Object.keys(jobSchemas[name] instanceof z.ZodObject ? (jobSchemas[name] as z.ZodObject).shape : {});
  if (fields.includes('op')) return { jobId: `${name}-<op>` };
  if (fields.includes('baseId')) return { deduplication: { id: `${name}-<baseId>` } };
  return { deduplication: { id: `${name}-manual` } };
}

export function producerContract(o: { homeId: string; prefix: string; redis: ProducerRedis }) {
  const payloads = jobJsonSchemas();
  const results = jobResultJsonSchemas();
  return {
    homeId: o.homeId,
    prefix: o.prefix,
    redis: o.redis,
    queues: { ops: queueName(o.homeId, 'ops'), gc: queueName(o.homeId, 'gc') },
    /** Applied by the service's workers to a job added without its own attempts / backoff / retention. */
    jobOptions: SERVICE_JOB_DEFAULTS,
    failedReason: {
      format: 'E_CODE: message, then, when there are details, a second line "details: {json}"',
      /** Failures the service retries (attempts above); every other code fails the job at once. */
      retried: Object.values(ErrorCodes).filter((code) => new ForkpointError(code, '').retryable),
    },
    jobs: JOB_NAMES.map((name) => ({
      name,
      queue: queueName(o.homeId, queueRoleOf(name)),
      add: addOptions(name),
      schema: payloads[name],
      resultSchema: results[name],
    })),
  };
}

export type ProducerContract = ReturnType<typeof producerContract>;
