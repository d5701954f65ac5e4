/**
 * The recent jobs about one box or one base, for the page's details panel.
 *   GET /api/forest/jobs?box=ID | ?base=ID
 * Reads the newest jobs of both queues (RECENT per state, the ones Redis still
 * keeps) and keeps those whose payload or result names it: a box as the job's
 * box, source, target or one of its targets; a base as its baseId. A failed
 * job carries its error and whose fault it was (error-class.ts).
 */
import type { Job } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorFromFailedReason } from '../../../contract/failed-reason.js';
import type { HttpContext } from '../context.js';
import { errorClass } from '../error-class.js';
import { baseIdField, boxIdField } from '../validate.js';

const RECENT = 200;
const STATES = ['active', 'waiting', 'delayed', 'failed', 'completed'] as const;

const query = z
  .object({ box: boxIdField.optional(), base: baseIdField.optional() })
  .strict()
  .refine((q) => (q.box === undefined) !== (q.base === undefined), { message: 'give either box or base', path: ['box'] });

function concerns(job: Job, q: { box?: string | undefined; base?: string | undefined }): boolean {
  const d = (job.data ?? {}) as Record<string, unknown>;
  const r = (job.returnvalue ?? {}) as Record<string, unknown>;
  if (q.base !== undefined) return d.baseId === q.base || r.baseId === q.base;
  const id = q.box;
  return d.boxId === id || d.source === id || d.target === id || (Array.isArray(d.targets) && d.targets.includes(id)) || r.boxId === id;
}

export function nodeJobRoutes(fastify: FastifyInstance, ctx: HttpContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/api/forest/jobs', { schema: { summary: 'recent jobs about one box or one base (for the page)', querystring: query } }, async (request) => {
    const q = request.query;
    const jobs: object[] = [];
    for (const role of ['ops', 'gc'] as const) {
      const queue = ctx.client.queue(role);
      for (const state of STATES) {
        for (const job of await queue.getJobs([state], 0, RECENT - 1)) {
          if (!job || !concerns(job, q)) continue;
          const error = state === 'failed' ? errorFromFailedReason(job.failedReason ?? 'unknown failure').toJSON() : null;
          jobs.push({
            queue: role,
            id: job.id,
            name: job.name,
            state,
            timestamp: job.timestamp,
            finishedOn: job.finishedOn ?? null,
            error,
            errorClass: error ? errorClass(error.code) : null,
          });
        }
      }
    }
    jobs.sort((a, b) => ((b as { timestamp: number }).timestamp ?? 0) - ((a as { timestamp: number }).timestamp ?? 0));
    return { jobs };
  });
}
