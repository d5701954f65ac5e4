/**
 * Bases (fork points) and their refs, and what GC would or will do.
 *   GET  /api/bases?kind=K&all=1      each with the boxes holding a ref
 *   GET  /api/bases/:id               the base, its refs, its child bases, who reads it
 *   POST /api/gc                      { dryRun?: true, baseId? }
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HttpContext } from '../context.js';
import { readForest } from '../../home-view.js';
import { jobAnswers, replyWithJob, waitQuery } from '../job-reply.js';
import { requireBase } from '../../../db/lookups.js';
import { baseIdField, flagField } from '../validate.js';

const listQuery = z.object({ kind: z.enum(['snapshot', 'clone_base', 'rootfs']).optional(), all: flagField });
const baseParams = z.object({ id: baseIdField });
const gcBody = z.object({ dryRun: z.boolean().default(false), baseId: baseIdField.optional() }).strict();

const gcDryRun = z.object({ dryRun: z.literal(true), bases: z.array(baseIdField).describe('the bases a GC would collect'), reclaimableBytes: z.number() }).meta({ id: 'GcPlan', description: 'dryRun: what a GC would collect; nothing is queued' });

export function baseRoutes(fastify: FastifyInstance, ctx: HttpContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/api/bases', { schema: { summary: 'list bases, each with the boxes holding a ref (all=1: tombstoned too)', querystring: listQuery } }, async (request) => {
    const q = request.query;
    const bases = ctx.reader.listBases({ ...(q.kind ? { kind: q.kind } : {}), includeTombstoned: q.all });
    return { bases: bases.map((b) => ({ ...b, refs: ctx.reader.dependentBoxes(b.id) })) };
  });

  app.get('/api/bases/:id', { schema: { summary: 'a base, its refs, its child bases, and who reads it', params: baseParams } }, async (request) => {
    const { id } = request.params;
    const base = requireBase(ctx.reader.connection, id, 'id');
    return { base, refs: ctx.reader.dependentBoxes(id), children: ctx.reader.childBases(id), readers: ctx.reader.readers(id) };
  });

  const gc = { summary: 'collect garbage bases (baseId: that one and what it frees), or plan it (dryRun)', querystring: waitQuery, body: gcBody, response: { ...jobAnswers, 200: jobAnswers[200].or(gcDryRun) } };
  app.post('/api/gc', { schema: gc }, async (request, reply) => {
    const { wait } = request.query;
    const body = request.body;
    if (body.baseId !== undefined) requireBase(ctx.reader.connection, body.baseId, 'baseId');
    if (body.dryRun) {
      // The same plan `forkpoint gc --dry-run` prints (planGc over the records); nothing is queued.
      const t = readForest(ctx.reader).totals;
      return { dryRun: true as const, bases: t.reclaimable, reclaimableBytes: t.reclaimableBytes };
    }
    return replyWithJob(ctx, reply, wait, () => ctx.client.gc(body.baseId));
  });
}
