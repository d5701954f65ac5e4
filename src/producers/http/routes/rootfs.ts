/**
 * The rootfs cache: raw images boxes start from.
 *   GET    /api/rootfs
 *   POST   /api/rootfs          { key, image, op? }   image: an absolute path on the server (422 if absent)
 *   DELETE /api/rootfs/:key                           refused (409) while a box reads it
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HttpContext } from '../context.js';
import { jobAnswers, replyWithJob, waitQuery } from '../job-reply.js';
import { requireRootfs } from '../../../db/lookups.js';
import { withBodyFile } from '../lookups.js';
import { rootfsKeyField, serverPathField } from '../../../contract/fields.js';
import { opField } from '../validate.js';

const keyParams = z.object({ key: rootfsKeyField });
const importBody = z
  .object({
    key: rootfsKeyField,
    image: serverPathField,
    op: opField.optional(),
  })
  .strict();

export function rootfsRoutes(fastify: FastifyInstance, ctx: HttpContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/api/rootfs', { schema: { summary: 'the rootfs cache, each with the boxes on it' } }, async () => ({
    rootfs: ctx.reader.listBases({ kind: 'rootfs' }).map((b) => ({ ...b, boxes: ctx.reader.dependentBoxes(b.id) })),
  }));

  const importSchema = { summary: 'import a raw rootfs image (a file in an import folder) under a key', querystring: waitQuery, body: importBody, response: jobAnswers };
  app.post('/api/rootfs', { schema: importSchema }, async (request, reply) => {
    const { wait } = request.query;
    const body = request.body;
    return withBodyFile(ctx, 'image', body.image, () =>
      replyWithJob(ctx, reply, wait, () => ctx.client.importRootfs(body.key, body.image, ...(body.op ? [body.op] : []))),
    );
  });

  app.delete('/api/rootfs/:key', { schema: { summary: 'remove a rootfs (refused, 409, while a box reads it)', params: keyParams, querystring: waitQuery, response: jobAnswers } }, async (request, reply) => {
    const { key } = request.params;
    const { wait } = request.query;
    requireRootfs(ctx.reader.connection, key, 'key');
    return replyWithJob(ctx, reply, wait, () => ctx.client.removeRootfs(key));
  });
}
