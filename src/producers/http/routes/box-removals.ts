/**
 * Bulk box removal: many boxes as one remove-box job (one transaction for the refs, folders removed
 * in parallel, one GC request per base). Ids are checked for shape here; unknown or refused boxes
 * are outcomes in the job's result (one per box, in the order given), not a refusal of the request.
 *   POST /api/boxes/removals   { boxIds: [...], op? }
 * DELETE /api/boxes/:id stays the way to remove one box (an unknown one is a 404 there).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MAX_REMOVE_BOXES } from '../../../contract/jobs.js';
import type { HttpContext } from '../context.js';
import { jobAnswers, replyWithJob, waitQuery } from '../job-reply.js';
import { boxIdListField, opField } from '../validate.js';

const removalsBody = z
  .object({ boxIds: boxIdListField(1, MAX_REMOVE_BOXES), op: opField.optional() })
  .strict()
  .refine((b) => new Set(b.boxIds).size === b.boxIds.length, { message: 'boxIds must be unique', path: ['boxIds'] });

export function boxRemovalRoutes(fastify: FastifyInstance, ctx: HttpContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const schema = { summary: 'remove many boxes as one job; its result has an outcome per box', querystring: waitQuery, body: removalsBody, response: jobAnswers };
  app.post('/api/boxes/removals', { schema }, async (request, reply) => {
    const { boxIds, op } = request.body;
    return replyWithJob(ctx, reply, request.query.wait, () => ctx.client.removeBoxes(boxIds, ...(op ? [op] : [])));
  });
}
