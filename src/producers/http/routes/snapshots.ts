/**
 * Snapshots: named, immutable states of a box.
 *   GET    /api/snapshots?box=B
 *   GET    /api/boxes/:id/snapshots
 *   POST   /api/boxes/:id/snapshots        { name, op? }
 *   DELETE /api/snapshots/:name?box=B&force=1
 *   POST   /api/snapshots/:name/clones     { target, box?, op? }
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HttpContext } from '../context.js';
import { replyWithJob } from '../job-reply.js';
import { refuseExistingBox, requireBox, resolveSnapshot } from '../../../db/lookups.js';
import { isRetryOfQueuedOp } from '../lookups.js';
import { boxIdField, flagField, opField, parseRequest, snapshotNameField } from '../validate.js';

const listQuery = z.object({ box: boxIdField.optional() });
const boxParams = z.object({ id: boxIdField });
const nameParams = z.object({ name: snapshotNameField });
const waitQuery = z.object({ wait: flagField });
const removeQuery = z.object({ box: boxIdField.optional(), force: flagField, wait: flagField });
const createBody = z.object({ name: snapshotNameField, op: opField.optional() }).strict();
const cloneBody = z.object({ target: boxIdField, box: boxIdField.optional(), op: opField.optional() }).strict();

export function snapshotRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const list = (boxId?: string) => ctx.reader.listBases({ kind: 'snapshot', ...(boxId ? { sourceBoxId: boxId } : {}) });

  app.get('/api/snapshots', async (request) => {
    const { box } = parseRequest(listQuery, request.query, 'query');
    return { snapshots: list(box) };
  });

  app.get('/api/boxes/:id/snapshots', async (request) => {
    const { id } = parseRequest(boxParams, request.params, 'params');
    requireBox(ctx.reader.connection, id, 'id');
    return { snapshots: list(id) };
  });

  app.post('/api/boxes/:id/snapshots', async (request, reply) => {
    const { id } = parseRequest(boxParams, request.params, 'params');
    const { wait } = parseRequest(waitQuery, request.query, 'query');
    const body = parseRequest(createBody, request.body, 'body');
    requireBox(ctx.reader.connection, id, 'id');
    return replyWithJob(ctx, reply, wait, () => ctx.client.snapshot(id, body.name, ...(body.op ? [body.op] : [])));
  });

  app.delete('/api/snapshots/:name', async (request, reply) => {
    const { name } = parseRequest(nameParams, request.params, 'params');
    const q = parseRequest(removeQuery, request.query, 'query');
    resolveSnapshot(ctx.reader.connection, name, q.box);
    return replyWithJob(ctx, reply, q.wait, () => ctx.client.removeSnapshot(name, { ...(q.box ? { boxId: q.box } : {}), force: q.force }));
  });

  app.post('/api/snapshots/:name/clones', async (request, reply) => {
    const { name } = parseRequest(nameParams, request.params, 'params');
    const { wait } = parseRequest(waitQuery, request.query, 'query');
    const body = parseRequest(cloneBody, request.body, 'body');
    resolveSnapshot(ctx.reader.connection, name, body.box);
    if (!(await isRetryOfQueuedOp(ctx, 'snapshot-clone', body.op))) refuseExistingBox(ctx.reader.connection, body.target, 'target');
    return replyWithJob(ctx, reply, wait, () => ctx.client.cloneSnapshot(name, body.target, body.box ? { boxId: body.box } : {}, ...(body.op ? [body.op] : [])));
  });
}
