/**
 * GET /api/events: a live feed for the page. `job-finished` after every job
 * this process ran (from the pipeline), `job-progress` while jobs run (from
 * the queues); the page redraws the forest on either.
 */
import type { FastifyInstance } from 'fastify';
import type { JobFinishedEvent } from '../../../workers/pipeline.js';
import type { HttpContext } from '../context.js';
import { openSse } from '../sse.js';

export function eventRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.get('/api/events', { schema: { summary: 'server-sent events: job-finished and job-progress for the whole home' } }, async (_request, reply) => {
    ctx.slots.take(reply);
    const stream = openSse(reply, ctx.streams);
    const onFinished = (e: JobFinishedEvent) =>
      stream.send('job-finished', { queue: e.queue, name: e.name, jobId: e.jobId, ok: e.ok, durationMs: e.durationMs, error: e.error ?? null });
    ctx.pipeline.events.on('job-finished', onFinished);
    const stops = (['ops', 'gc'] as const).map((queue) =>
      ctx.client.watch(queue, (e) => {
        if (e.type === 'progress') stream.send('job-progress', { queue, jobId: e.jobId, progress: e.data });
      }),
    );
    stream.onClose(() => {
      ctx.pipeline.events.off('job-finished', onFinished);
      for (const stop of stops) stop();
    });
    stream.send('hello', { homeId: ctx.homeId });
  });
}
