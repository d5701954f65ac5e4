/**
 * How a mutating route answers: the job it queued (202, with where to poll
 * and where to stream progress), or with `?wait=1` the job's result (200) or
 * its typed error (the error handler gives it its status). A waiting request
 * holds a stream slot (see stream-slots.ts), taken before the job is queued:
 * past the cap the answer is 503 E_BUSY and nothing was queued.
 */
import type { FastifyReply } from 'fastify';
import type { JobHandle } from '../client.js';
import { queueRoleOf } from '../queues.js';
import type { StreamSlots } from './stream-slots.js';

export interface QueuedJob {
  jobId: string;
  queue: 'ops' | 'gc';
  name: string;
  state: 'queued' | 'completed';
  links: { self: string; events: string };
  result?: unknown;
}

export async function replyWithJob(
  slots: StreamSlots,
  reply: FastifyReply,
  wait: boolean,
  enqueue: () => Promise<JobHandle<unknown>>,
): Promise<QueuedJob> {
  if (wait) slots.take(reply);
  const handle = await enqueue();
  const queue = queueRoleOf(handle.name);
  const self = `/api/jobs/${queue}/${encodeURIComponent(handle.id)}`;
  const base = { jobId: handle.id, queue, name: handle.name, links: { self, events: `${self}/events` } };
  if (!wait) {
    void reply.code(202);
    return { ...base, state: 'queued' };
  }
  const result = await handle.result();
  return { ...base, state: 'completed', result };
}
