/**
 * Snapshots: named, immutable states of a box.
 *   GET    /api/snapshots?box=B
 *   GET    /api/boxes/:id/snapshots
 *   POST   /api/boxes/:id/snapshots        { name, op? }
 *   DELETE /api/snapshots/:name?box=B&force=1
 *   POST   /api/snapshots/:name/clones     { target, box?, op? }
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HttpContext } from '../context.js';
import { jobAnswers, replyWithJob, waitQuery } from '../job-reply.js';
import { refuseExistingBox, requireBox, resolveSnapshot } from '../../../db/lookups.js';
import { isRetryOfQueuedOp } from '../lookups.js';
import { boxIdField, flagField, opField, snapshotNameField } from '../validate.js';

const listQuery = z.object({ box: boxIdField.optional() });
const boxParams = z.object({ id: boxIdField });
const nameParams = z.object({ name: snapshotNameField });
const removeQuery = z.object({ box: boxIdField.optional(), force: flagField, wait: waitQuery.shape.wait });
const createBody = z.object({ name: snapshotNameField, op: opField.optional() }).strict();
const cloneBody = z.object({ target: boxIdField, box: boxIdField.optional(), op: opField.optional() }).strict();

export function snapshotRoutes(fastify: FastifyInstance, ctx: HttpContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const list = (boxId?: string) => ctx.reader.listBases({ kind: 'snapshot', ...(boxId ? { sourceBoxId: boxId } : {}) });

  app.get('/api/snapshots', { schema: { summary: "list snapshots (box: that box's)", querystring: listQuery } }, async (request) => {
    const { box } = request.query;
    return { snapshots: list(box) };
  });

  app.get('/api/boxes/:id/snapshots', { schema: { summary: "a box's snapshots", params: boxParams } }, async (request) => {
    const { id } = request.params;
    requireBox(ctx.reader.connection, id, 'id');
    return { snapshots: list(id) };
  });

  const create = { summary: 'snapshot a box under a name', params: boxParams, querystring: waitQuery, body: createBody, response: jobAnswers };
  app.post('/api/boxes/:id/snapshots', { schema: create }, async (request, reply) => {
    const { id } = request.params;
    const { wait } = request.query;
    const body = request.body;
    requireBox(ctx.reader.connection, id, 'id');
    return replyWithJob(ctx, reply, wait, () => ctx.client.snapshot(id, body.name, ...(body.op ? [body.op] : [])));
  });

  const remove = { summary: 'remove a snapshot (box: whose, when names repeat; force: even while read, hidden until its last reader goes)', params: nameParams, querystring: removeQuery, response: jobAnswers };
  app.delete('/api/snapshots/:name', { schema: remove }, async (request, reply) => {
    const { name } = request.params;
    const q = request.query;
    resolveSnapshot(ctx.reader.connection, name, q.box);
    return replyWithJob(ctx, reply, q.wait, () => ctx.client.removeSnapshot(name, { ...(q.box ? { boxId: q.box } : {}), force: q.force }));
  });

  const clone = { summary: 'a new box from a snapshot', params: nameParams, querystring: waitQuery, body: cloneBody, response: jobAnswers };
  app.post('/api/snapshots/:name/clones', { schema: clone }, async (request, reply) => {
    const { name } = request.params;
    const { wait } = request.query;
    const body = request.body;
    resolveSnapshot(ctx.reader.connection, name, body.box);
    if (!(await isRetryOfQueuedOp(ctx, 'snapshot-clone', body.op))) refuseExistingBox(ctx.reader.connection, body.target, 'target');
    return replyWithJob(ctx, reply, wait, () => ctx.client.cloneSnapshot(name, body.target, body.box ? { boxId: body.box } : {}, ...(body.op ? [body.op] : [])));
  });
}
