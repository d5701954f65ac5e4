/**
 * Snapshot restore: the box's disk becomes a fresh child of one of its snapshots.
 *   POST /api/boxes/:id/restore     { name, checkInUse?, op? }
 * The service cannot tell whether a VM runs on the disk; stop the box first, or
 * send checkInUse: true to have the job refuse (E_IMAGE_IN_USE) while QEMU holds it.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HttpContext } from '../context.js';
import { replyWithJob } from '../job-reply.js';
import { requireBox, resolveSnapshot } from '../../../db/lookups.js';
import { boxIdField, flagField, opField, parseRequest, snapshotNameField } from '../validate.js';

const boxParams = z.object({ id: boxIdField });
const waitQuery = z.object({ wait: flagField });
const restoreBody = z.object({ name: snapshotNameField, checkInUse: z.boolean().default(false), op: opField.optional() }).strict();

export function restoreRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.post('/api/boxes/:id/restore', async (request, reply) => {
    const { id } = parseRequest(boxParams, request.params, 'params');
    const { wait } = parseRequest(waitQuery, request.query, 'query');
    const body = parseRequest(restoreBody, request.body, 'body');
    // The same refusals the job makes, before anything is queued (db/lookups.ts).
    requireBox(ctx.reader.connection, id, 'id');
    resolveSnapshot(ctx.reader.connection, body.name, id);
    return replyWithJob(ctx, reply, wait, () => ctx.client.restoreSnapshot(id, body.name, { checkInUse: body.checkInUse }, ...(body.op ? [body.op] : [])));
  });
}
