/**
 * OCI import over HTTP (README "Portable boxes"):
 *   POST /api/boxes/import   { layout, tag?, boxId, op? }   a new box from an OCI image layout
 * `layout` is a folder on the server and must lie in the import folders (refused before it is
 * queued, and the job confines it and every blob it reads). Export writes files, so it is CLI-only (`forkpoint box export`): a request
 * must not make the service write where its caller could not.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { serverPathField } from '../../../contract/fields.js';
import { refuseExistingBox } from '../../../db/lookups.js';
import type { HttpContext } from '../context.js';
import { jobAnswers, replyWithJob, waitQuery } from '../job-reply.js';
import { isRetryOfQueuedOp, withBodyFile } from '../lookups.js';
import { boxIdField, opField } from '../validate.js';

const importBody = z
  .object({
    layout: serverPathField,
    tag: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/, 'must be an OCI tag: 1-128 of [A-Za-z0-9_.-]').optional(),
    boxId: boxIdField,
    op: opField.optional(),
  })
  .strict();

export function ociRoutes(fastify: FastifyInstance, ctx: HttpContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const schema = { summary: 'a new box from an OCI image layout in an import folder (every digest verified)', querystring: waitQuery, body: importBody, response: jobAnswers };
  app.post('/api/boxes/import', { schema }, async (request, reply) => {
    const body = request.body;
    if (!(await isRetryOfQueuedOp(ctx, 'box-import', body.op))) refuseExistingBox(ctx.reader.connection, body.boxId, 'boxId');
    const tag = body.tag !== undefined ? { tag: body.tag } : {};
    const queue = () => replyWithJob(ctx, reply, request.query.wait, () => ctx.client.importBox(body.layout, body.boxId, tag, ...(body.op ? [body.op] : [])));
    // Confined before it is queued, as the job confines it: the layout's oci-layout file, in an import folder.
    return withBodyFile(ctx, 'layout', join(body.layout, 'oci-layout'), queue);
  });
}
