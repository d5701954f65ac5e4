/**
 * Boxes: list, show, create, remove, clone (single or batch).
 *   GET    /api/boxes
 *   GET    /api/boxes/:id
 *   POST   /api/boxes               { boxId, sizeBytes | fromImage, op? }
 *   DELETE /api/boxes/:id
 *   POST   /api/boxes/:id/clones    { targets: [...] | count, prefix?, op? }
 * Mutations answer 202 with the job (or, with ?wait=1, 200 with its result).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorCodes, ForkpointError } from '../../../errors.js';
import { nameProblem } from '../../../names.js';
import { MAX_CLONE_TARGETS, cloneTargets } from '../../../contract/clone-targets.js';
import type { HttpContext } from '../context.js';
import { ONE_BOX_SOURCE, ONE_BOX_SOURCE_SCHEMA, boxSourceFields, oneBoxSource } from '../../../contract/jobs.js';
import { jobAnswers, replyWithJob, waitQuery } from '../job-reply.js';
import { refuseExistingBox, requireBox, requireRootfs } from '../../../db/lookups.js';
import { isRetryOfQueuedOp, withBodyFile } from '../lookups.js';
import { boxIdField, boxIdListField, nameField, opField } from '../validate.js';

const boxParams = z.object({ id: boxIdField });

const createBody = z
  .object({ boxId: boxIdField, ...boxSourceFields, op: opField.optional() })
  .strict()
  .refine(oneBoxSource, { message: ONE_BOX_SOURCE, path: ['sizeBytes'] })
  .meta(ONE_BOX_SOURCE_SCHEMA);

const cloneBody = z
  .object({
    targets: boxIdListField(1, MAX_CLONE_TARGETS).meta({ uniqueItems: true }).optional(),
    count: z.number().int().min(1).max(MAX_CLONE_TARGETS).optional(),
    // A prefix becomes part of box ids: the same rule, checked on the ids it makes too.
    prefix: nameField('name prefix').optional(),
    op: opField.optional(),
  })
  .strict()
  .refine((b) => (b.targets === undefined) !== (b.count === undefined), { message: 'give either targets or count', path: ['targets'] })
  .refine((b) => b.targets === undefined || new Set(b.targets).size === b.targets.length, { message: 'targets must be unique', path: ['targets'] })
  .refine((b) => b.prefix === undefined || b.count !== undefined, { message: 'prefix goes with count', path: ['prefix'] });

export function boxRoutes(fastify: FastifyInstance, ctx: HttpContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/api/boxes', { schema: { summary: 'list boxes' } }, async () => ({ boxes: ctx.reader.listBoxes() }));

  app.get('/api/boxes/:id', { schema: { summary: 'a box and the refs it holds', params: boxParams } }, async (request) => {
    const { id } = request.params;
    const box = requireBox(ctx.reader.connection, id, 'id');
    return { box, refs: ctx.reader.refsOfBox(id) };
  });

  const create = { summary: 'create a box: an empty disk of sizeBytes, a copy of fromImage, or an overlay on a rootfs', querystring: waitQuery, body: createBody, response: jobAnswers };
  app.post('/api/boxes', { schema: create }, async (request, reply) => {
    const { wait } = request.query;
    const body = request.body;
    const retry = await isRetryOfQueuedOp(ctx, 'box-create', body.op);
    if (!retry) refuseExistingBox(ctx.reader.connection, body.boxId, 'boxId');
    if (body.rootfs !== undefined && !retry) requireRootfs(ctx.reader.connection, body.rootfs);
    const from =
      body.sizeBytes !== undefined ? { sizeBytes: body.sizeBytes } : body.fromImage !== undefined ? { fromImage: body.fromImage } : { rootfs: body.rootfs! };
    const queue = () => replyWithJob(ctx, reply, wait, () => ctx.client.createBox(body.boxId, from, ...(body.op ? [body.op] : [])));
    return body.fromImage !== undefined ? withBodyFile(ctx, 'fromImage', body.fromImage, queue) : queue();
  });

  app.delete('/api/boxes/:id', { schema: { summary: 'remove a box (its refs go; GC follows)', params: boxParams, querystring: waitQuery, response: jobAnswers } }, async (request, reply) => {
    const { id } = request.params;
    const { wait } = request.query;
    requireBox(ctx.reader.connection, id, 'id');
    return replyWithJob(ctx, reply, wait, () => ctx.client.removeBox(id));
  });

  const clone = { summary: 'clone a box: to the targets named, or count of them named prefix1…', params: boxParams, querystring: waitQuery, body: cloneBody, response: jobAnswers };
  app.post('/api/boxes/:id/clones', { schema: clone }, async (request, reply) => {
    const { id } = request.params;
    const { wait } = request.query;
    const body = request.body;
    requireBox(ctx.reader.connection, id, 'id');
    const retry = await isRetryOfQueuedOp(ctx, 'clone', body.op);
    const targets = body.targets ?? cloneTargets(id, body.count!, body.prefix, body.op);
    targets.forEach((t, i) => {
      // Generated ids (prefix + n) can only break the length rule; that is the prefix's fault.
      const field = body.targets ? `targets.${i}` : 'prefix';
      const problem = nameProblem(t);
      if (problem) throw new ForkpointError(ErrorCodes.INVALID_NAME, `bad request body: ${field}: box id ${problem}`, { field, in: 'body' });
      if (t === id) throw new ForkpointError(ErrorCodes.BAD_PAYLOAD, `bad request body: ${field}: a target cannot be the source box`, { field, in: 'body' });
      if (!retry) refuseExistingBox(ctx.reader.connection, t, field);
    });
    return replyWithJob(ctx, reply, wait, () => ctx.client.clone(id, targets, ...(body.op ? [body.op] : [])));
  });
}
