/**
 * How a mutating route answers: the job it queued (202, with where to poll
 * and where to stream progress), or with `?wait=1` the job's result (200) or
 * its typed error (the error handler gives it its status). A waiting request
 * holds a stream slot (see stream-slots.ts), taken before the job is queued:
 * past the cap the answer is 503 E_BUSY and nothing was queued.
 */
import type { FastifyReply } from 'fastify';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import type { JobHandle } from '../client.js';
import { queueRoleOf } from '../../contract/queues.js';
import type { HttpContext } from './context.js';

export interface QueuedJob {
  jobId: string;
  queue: 'ops' | 'gc';
  name: string;
  state: 'queued' | 'completed';
  links: { self: string; events: string };
  result?: unknown;
}

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
    return { ...base, state: 'queued' };
  }
  // Shutdown ends the wait: the workers stop taking jobs, so this one may not run until the next
  // start, and the server cannot close while a request is open. The client keeps the job's link.
  const closing = ctx.closing.signal;
  const stopped = new Promise<never>((_, reject) => {
    const refuse = () =>
      reject(new ForkpointError(ErrorCodes.SHUTTING_DOWN, `the service is stopping before job ${handle.id} finished; poll ${self} once it is back`, { job: handle.id, link: self }));
    if (closing.aborted) refuse();
    else closing.addEventListener('abort', refuse, { once: true });
  });
  stopped.catch(() => undefined);
  const result = await Promise.race([handle.result(), stopped]);
  return { ...base, state: 'completed', result };
}
