/**
 * Jobs: poll one, or stream its progress.
 *   GET /api/jobs/:queue/:id          { id, name, state, progress, result, failedReason, … }
 *   GET /api/jobs/:queue/:id/events   SSE: `progress` {done,total}…, then `completed` {result} or `failed` {error}; then the stream ends
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorCodes, ForkpointError } from '../../../errors.js';
import type { JobState } from '../../client.js';
import { errorFromFailedReason } from '../../../contract/failed-reason.js';
import type { HttpContext } from '../context.js';
import { openSse, type SseStream } from '../sse.js';

const jobParams = z.object({
  queue: z.enum(['ops', 'gc']),
  // BullMQ ids here are ours (`<job>-<op>`, `gc-<base>`) or numbers; nothing else is a job of ours.
  id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'job id must be 1-128 characters of [A-Za-z0-9_-]'),
});

const FINISHED = new Set(['completed', 'failed']);

function failure(reason: string | null) {
  return errorFromFailedReason(reason ?? 'unknown failure').toJSON();
}

export function jobRoutes(fastify: FastifyInstance, ctx: HttpContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const requireJob = async (queue: 'ops' | 'gc', id: string): Promise<JobState> => {
    const job = await ctx.client.getJob(queue, id);
    if (!job) throw new ForkpointError(ErrorCodes.NOT_FOUND, `no job "${id}" in the ${queue} queue (finished jobs are kept for a while, then removed)`, { field: 'id', id });
    return job;
  };

  app.get('/api/jobs/:queue/:id', { schema: { summary: 'a job: state, progress, result or error', params: jobParams } }, async (request) => {
    const { queue, id } = request.params;
    const job = await requireJob(queue, id);
    return { ...job, error: job.state === 'failed' ? failure(job.failedReason) : null };
  });

  const events = { summary: "a job's progress as server-sent events, then completed or failed; then the stream ends", params: jobParams };
  app.get('/api/jobs/:queue/:id/events', { schema: events }, async (request, reply) => {
    const { queue, id } = request.params;
    await requireJob(queue, id); // a 404 is still a plain JSON answer
    ctx.slots.take(reply); // so is a 503 at the stream cap
    const stream: SseStream = openSse(reply, ctx.streams);
    const end = (event: 'completed' | 'failed', data: object) => {
      stream.send(event, { jobId: id, ...data });
      stream.close();
    };
    // Listen first, then read the state: an event between the two is seen twice at worst, never missed.
    const stop = ctx.client.watch(queue, (e) => {
      if (e.jobId !== id) return;
      if (e.type === 'progress') stream.send('progress', e.data);
      else if (e.type === 'completed') end('completed', { result: e.result });
      else end('failed', { error: failure(e.failedReason) });
    });
    stream.onClose(stop);
    const now = await ctx.client.getJob(queue, id);
    if (!now) return end('failed', { error: new ForkpointError(ErrorCodes.NOT_FOUND, `job "${id}" was removed`).toJSON() });
    if (now.progress && typeof now.progress === 'object') stream.send('progress', now.progress);
    if (FINISHED.has(now.state)) {
      if (now.state === 'completed') end('completed', { result: now.result });
      else end('failed', { error: failure(now.failedReason) });
    }
  });
}
