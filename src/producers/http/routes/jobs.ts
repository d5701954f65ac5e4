/**
 * Jobs: poll one, or stream its progress.
 *   GET /api/jobs/:queue/:id          { id, name, state, progress, result, failedReason, … }
 *   GET /api/jobs/:queue/:id/events   SSE: `progress` {done,total}…, then `completed` {result} or `failed` {error}; then the stream ends
 *   POST /api/jobs/:id/cancel         `forkpoint jobs cancel`: 200 removed (it was not running) or, with ?wait=1, cancelled;
 *                                     202 requested (it runs, and stops between chunks); 404 unknown; 409 it had ended
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorCodes, ForkpointError, isForkpointError } from '../../../errors.js';
import type { JobState } from '../../client.js';
import { errorFromFailedReason } from '../../../contract/failed-reason.js';
import type { HttpContext } from '../context.js';
import { openSse, type SseStream } from '../sse.js';
import { endsAtShutdown, waitQuery } from '../job-reply.js';

const jobParams = z.object({
  queue: z.enum(['ops', 'gc']),
  // BullMQ ids here are ours (`<job>-<op>`, `gc-<base>`) or numbers; nothing else is a job of ours.
  id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'job id must be 1-128 characters of [A-Za-z0-9_-]'),
});

const FINISHED = new Set(['completed', 'failed']);

const cancelFields = {
  id: z.string(),
  name: z.string().describe('the job name'),
  queue: z.enum(['ops', 'gc']),
  links: z.object({ self: z.string().describe('GET: the job, polled') }),
};
/** What `POST /api/jobs/:id/cancel` answers: the outcomes of `forkpoint jobs cancel`. */
const cancelAnswers = {
  200: z
    .object({
      ...cancelFields,
      outcome: z.enum(['removed', 'cancelled']).describe('removed: it was not running and is gone (what an earlier attempt made stays); cancelled (?wait=1): it stopped, undoing what it had not made'),
      error: z.unknown().optional().describe('cancelled: the E_CANCELLED error the job ended with (details.made, details.undone)'),
    })
    .meta({ id: 'CancelledJob', description: 'the job does nothing more' }),
  202: z
    .object({ ...cancelFields, outcome: z.literal('requested').describe('it runs: asked to stop between chunks; poll links.self for its end (failed with E_CANCELLED)') })
    .meta({ id: 'CancelRequested', description: 'asked a running job to stop' }),
};

function alreadyEnded(id: string, name: string, state: string, self: string): ForkpointError {
  return new ForkpointError(ErrorCodes.CONFLICT, `job ${id} (${name}) had already ${state === 'completed' ? 'completed' : 'failed'}: nothing to cancel (GET ${self} shows its outcome)`, {
    id,
    state,
  });
}

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

  const cancel = {
    summary: 'cancel a job (`forkpoint jobs cancel`): one that waits is removed; a running clone stops between chunks (what it made stays, the rest is not made)',
    params: z.object({ id: jobParams.shape.id }),
    querystring: waitQuery.describe('1: for a running job, answer once it has stopped (200 cancelled) instead of at once (202 requested)'),
    response: cancelAnswers,
  };
  app.post('/api/jobs/:id/cancel', { schema: cancel }, async (request, reply) => {
    const { id } = request.params;
    const { wait } = request.query;
    if (wait) ctx.slots.take(reply); // before anything is asked: a 503 at the cap changes nothing
    const c = await ctx.client.cancel(id); // E_NOT_FOUND (404) for a job no queue of this home has
    const self = `/api/jobs/${c.queue}/${encodeURIComponent(id)}`;
    const base = { id, name: c.name, queue: c.queue, links: { self } };
    if (c.outcome === 'finished') throw alreadyEnded(id, c.name, c.state, self);
    if (c.outcome === 'removed') return { ...base, outcome: 'removed' as const };
    if (!wait) {
      void reply.code(202);
      return { ...base, outcome: 'requested' as const };
    }
    const handle = await ctx.client.follow(id);
    // A request the job never read is dropped once the job ended; kept if the service stops first (the job resumes).
    const forget = () => ctx.client.forgetCancel(c.queue, id).catch(() => undefined);
    try {
      await Promise.race([handle.result(), endsAtShutdown(ctx, id, self)]);
    } catch (err) {
      // The pipeline dropped the request when it honoured it.
      if (isForkpointError(err, ErrorCodes.CANCELLED)) return { ...base, outcome: 'cancelled' as const, error: err.toJSON() };
      if (!ctx.closing.signal.aborted) await forget();
      throw err; // it failed on its own meanwhile, or the service stops: that is the answer
    }
    // It completed before it read the request (its last chunk had begun, say).
    await forget();
    throw alreadyEnded(id, c.name, 'completed', self);
  });
}
