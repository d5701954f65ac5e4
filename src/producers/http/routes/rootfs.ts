/**
 * The rootfs cache: raw images boxes start from.
 *   GET    /api/rootfs
 *   POST   /api/rootfs          { key, image, op? }   image: an absolute path on the server (422 if absent)
 *   DELETE /api/rootfs/:key                           refused (409) while a box reads it
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HttpContext } from '../context.js';
import { replyWithJob } from '../job-reply.js';
import { requireRootfs } from '../../../db/lookups.js';
import { withBodyFile } from '../lookups.js';
import { rootfsKeyField, serverPathField } from '../../../contract/fields.js';
import { flagField, opField, parseRequest } from '../validate.js';

const keyParams = z.object({ key: rootfsKeyField });
const waitQuery = z.object({ wait: flagField });
const importBody = z
  .object({
    key: rootfsKeyField,
    image: serverPathField,
    op: opField.optional(),
  })
  .strict();

export function rootfsRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.get('/api/rootfs', async () => ({
    rootfs: ctx.reader.listBases({ kind: 'rootfs' }).map((b) => ({ ...b, boxes: ctx.reader.dependentBoxes(b.id) })),
  }));

  app.post('/api/rootfs', async (request, reply) => {
    const { wait } = parseRequest(waitQuery, request.query, 'query');
    const body = parseRequest(importBody, request.body, 'body');
    return withBodyFile(ctx, 'image', body.image, () =>
      replyWithJob(ctx, reply, wait, () => ctx.client.importRootfs(body.key, body.image, ...(body.op ? [body.op] : []))),
    );
  });

  app.delete('/api/rootfs/:key', async (request, reply) => {
    const { key } = parseRequest(keyParams, request.params, 'params');
    const { wait } = parseRequest(waitQuery, request.query, 'query');
    requireRootfs(ctx.reader.connection, key, 'key');
    return replyWithJob(ctx, reply, wait, () => ctx.client.removeRootfs(key));
  });
}
