/**
 * How a mutating route answers: the job it queued (202, with where to poll
 * and where to stream progress), or with `?wait=1` the job's result (200) or
 * its typed error (the error handler gives it its status). A waiting request
 * holds a stream slot (see stream-slots.ts), taken before the job is queued:
 * past the cap the answer is 503 E_BUSY and nothing was queued.
 */
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import type { JobHandle } from '../client.js';
import { queueRoleOf } from '../../contract/queues.js';
import type { HttpContext } from './context.js';
import { flagField } from './validate.js';

const jobReplyFields = {
  jobId: z.string(),
  queue: z.enum(['ops', 'gc']),
  name: z.string().describe('the job name (see `forkpoint jobs --json`)'),
  links: z.object({ self: z.string().describe('GET: the job, polled'), events: z.string().describe('GET: its progress as server-sent events') }),
};

/** What a mutating route answers, for the OpenAPI document: queued (202), or with `?wait=1` done (200). */
export const jobAnswers = {
  200: z
    .object({ ...jobReplyFields, state: z.literal('completed'), result: z.unknown().describe("the job's result") })
    .meta({ id: 'CompletedJob', description: 'with ?wait=1: the job ran; its result' }),
  202: z.object({ ...jobReplyFields, state: z.literal('queued') }).meta({ id: 'QueuedJob', description: 'queued: poll links.self or stream links.events' }),
};

export type QueuedJob = z.output<(typeof jobAnswers)[200]> | z.output<(typeof jobAnswers)[202]>;

/** `?wait=1`: answer when the job has finished. */
export const waitQuery = z.object({ wait: flagField.describe('1: answer when the job has finished (200 with its result) instead of at once (202)') });

export async function replyWithJob(
  ctx: Pick<HttpContext, 'slots' | 'closing'>,
  reply: FastifyReply,
  wait: boolean,
  enqueue: () => Promise<JobHandle<unknown>>,
): Promise<QueuedJob> {
  if (wait) ctx.slots.take(reply);
  const handle = await enqueue();
  const queue = queueRoleOf(handle.name);
  const self = `/api/jobs/${queue}/${encodeURIComponent(handle.id)}`;
  const base = { jobId: handle.id, queue, name: handle.name, links: { self, events: `${self}/events` } };
  if (!wait) {
    void reply.code(202);
    return { ...base, state: 'queued' as const };
  }
  const result = await Promise.race([handle.result(), endsAtShutdown(ctx, handle.id, self)]);
  return { ...base, state: 'completed' as const, result };
}

/**
 * Rejects with E_SHUTTING_DOWN once shutdown begins, for a request waiting on job `jobId` (`self`: its link).
 * Shutdown ends the wait: the workers stop taking jobs, so this one may not run until the next
 * start, and the server cannot close while a request is open. The client keeps the job's link.
 */
export function endsAtShutdown(ctx: Pick<HttpContext, 'closing'>, jobId: string, self: string): Promise<never> {
  const closing = ctx.closing.signal;
  const stopped = new Promise<never>((_, reject) => {
    const refuse = () => reject(new ForkpointError(ErrorCodes.SHUTTING_DOWN, `the service is stopping before job ${jobId} finished; poll ${self} once it is back`, { job: jobId, link: self }));
    if (closing.aborted) refuse();
    else closing.addEventListener('abort', refuse, { once: true });
  });
  stopped.catch(() => undefined);
  return stopped;
}
