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
import { z } from 'zod';
import { ErrorCodes, ForkpointError } from '../../../errors.js';
import { nameProblem } from '../../../names.js';
import { MAX_CLONE_TARGETS, cloneTargets } from '../../../contract/clone-targets.js';
import type { HttpContext } from '../context.js';
import { ONE_BOX_SOURCE, boxSourceFields, oneBoxSource } from '../../../contract/jobs.js';
import { replyWithJob } from '../job-reply.js';
import { refuseExistingBox, requireBox, requireRootfs } from '../../../db/lookups.js';
import { isRetryOfQueuedOp, withBodyFile } from '../lookups.js';
import { boxIdField, flagField, nameField, opField, parseRequest } from '../validate.js';

const boxParams = z.object({ id: boxIdField });
const waitQuery = z.object({ wait: flagField });

const createBody = z
  .object({ boxId: boxIdField, ...boxSourceFields, op: opField.optional() })
  .strict()
  .refine(oneBoxSource, { message: ONE_BOX_SOURCE, path: ['sizeBytes'] });

const cloneBody = z
  .object({
    targets: z.array(boxIdField).min(1).max(MAX_CLONE_TARGETS).optional(),
    count: z.number().int().min(1).max(MAX_CLONE_TARGETS).optional(),
    // A prefix becomes part of box ids: the same rule, checked on the ids it makes too.
    prefix: nameField('name prefix').optional(),
    op: opField.optional(),
  })
  .strict()
  .refine((b) => (b.targets === undefined) !== (b.count === undefined), { message: 'give either targets or count', path: ['targets'] })
  .refine((b) => b.targets === undefined || new Set(b.targets).size === b.targets.length, { message: 'targets must be unique', path: ['targets'] })
  .refine((b) => b.prefix === undefined || b.count !== undefined, { message: 'prefix goes with count', path: ['prefix'] });

export function boxRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.get('/api/boxes', async () => ({ boxes: ctx.reader.listBoxes() }));

  app.get('/api/boxes/:id', async (request) => {
    const { id } = parseRequest(boxParams, request.params, 'params');
    const box = requireBox(ctx.reader.connection, id, 'id');
    return { box, refs: ctx.reader.refsOfBox(id) };
  });

  app.post('/api/boxes', async (request, reply) => {
    const { wait } = parseRequest(waitQuery, request.query, 'query');
    const body = parseRequest(createBody, request.body, 'body');
    const retry = await isRetryOfQueuedOp(ctx, 'box-create', body.op);
    if (!retry) refuseExistingBox(ctx.reader.connection, body.boxId, 'boxId');
    if (body.rootfs !== undefined && !retry) requireRootfs(ctx.reader.connection, body.rootfs);
    const from =
      body.sizeBytes !== undefined ? { sizeBytes: body.sizeBytes } : body.fromImage !== undefined ? { fromImage: body.fromImage } : { rootfs: body.rootfs! };
    const queue = () => replyWithJob(ctx, reply, wait, () => ctx.client.createBox(body.boxId, from, ...(body.op ? [body.op] : [])));
    return body.fromImage !== undefined ? withBodyFile(ctx, 'fromImage', body.fromImage, queue) : queue();
  });

  app.delete('/api/boxes/:id', async (request, reply) => {
    const { id } = parseRequest(boxParams, request.params, 'params');
    const { wait } = parseRequest(waitQuery, request.query, 'query');
    requireBox(ctx.reader.connection, id, 'id');
    return replyWithJob(ctx, reply, wait, () => ctx.client.removeBox(id));
  });

  app.post('/api/boxes/:id/clones', async (request, reply) => {
    const { id } = parseRequest(boxParams, request.params, 'params');
    const { wait } = parseRequest(waitQuery, request.query, 'query');
    const body = parseRequest(cloneBody, request.body, 'body');
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
