/**
 * Bases (fork points) and their refs, and what GC would or will do.
 *   GET  /api/bases?kind=K&all=1      each with the boxes holding a ref
 *   GET  /api/bases/:id               the base, its refs, its child bases, who reads it
 *   POST /api/gc                      { dryRun?: true, baseId? }
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HttpContext } from '../context.js';
import { readForest } from '../../home-view.js';
import { replyWithJob } from '../job-reply.js';
import { requireBase } from '../../../db/lookups.js';
import { baseIdField, flagField, parseRequest } from '../validate.js';

const listQuery = z.object({ kind: z.enum(['snapshot', 'clone_base', 'rootfs']).optional(), all: flagField });
const baseParams = z.object({ id: baseIdField });
const gcBody = z.object({ dryRun: z.boolean().default(false), baseId: baseIdField.optional() }).strict();
const waitQuery = z.object({ wait: flagField });

export function baseRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.get('/api/bases', async (request) => {
    const q = parseRequest(listQuery, request.query, 'query');
    const bases = ctx.reader.listBases({ ...(q.kind ? { kind: q.kind } : {}), includeTombstoned: q.all });
    return { bases: bases.map((b) => ({ ...b, refs: ctx.reader.dependentBoxes(b.id) })) };
  });

  app.get('/api/bases/:id', async (request) => {
    const { id } = parseRequest(baseParams, request.params, 'params');
    const base = requireBase(ctx.reader.connection, id, 'id');
    return { base, refs: ctx.reader.dependentBoxes(id), children: ctx.reader.childBases(id), readers: ctx.reader.readers(id) };
  });

  app.post('/api/gc', async (request, reply) => {
    const { wait } = parseRequest(waitQuery, request.query, 'query');
    const body = parseRequest(gcBody, request.body, 'body');
    if (body.baseId !== undefined) requireBase(ctx.reader.connection, body.baseId, 'baseId');
    if (body.dryRun) {
      // The same plan `forkpoint gc --dry-run` prints (planGc over the records); nothing is queued.
      const t = readForest(ctx.reader).totals;
      return { dryRun: true, bases: t.reclaimable, reclaimableBytes: t.reclaimableBytes };
    }
    return replyWithJob(ctx, reply, wait, () => ctx.client.gc(body.baseId));
  });
}
