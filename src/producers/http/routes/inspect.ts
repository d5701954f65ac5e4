/**
 * Why a base is kept, and one object per box or base (read-only; the same answers as the CLI).
 *   GET /api/bases/:id/why     readers (refs, box disks, bases whose chains pass through it), the rule, what would free it
 *   GET /api/bases/:id/info    its file, the chain below it, refs, child bases, snapshots that read it
 *   GET /api/boxes/:id/info    its disk (virtual and allocated bytes), the chain it reads, refs, snapshots
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireBase } from '../../../db/lookups.js';
import { whyOf } from '../../../db/rules/gcWhy.js';
import type { HttpContext } from '../context.js';
import { baseInfo, boxInfo } from '../../inspect-view.js';
import { baseIdField, boxIdField, parseRequest } from '../validate.js';

const baseParams = z.object({ id: baseIdField });
const boxParams = z.object({ id: boxIdField });

export function inspectRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.get('/api/bases/:id/why', async (request) => {
    const { id } = parseRequest(baseParams, request.params, 'params');
    requireBase(ctx.reader.connection, id, 'id');
    return whyOf(ctx.reader.connection, id);
  });

  app.get('/api/bases/:id/info', async (request) => {
    const { id } = parseRequest(baseParams, request.params, 'params');
    return baseInfo(ctx.reader, id);
  });

  app.get('/api/boxes/:id/info', async (request) => {
    const { id } = parseRequest(boxParams, request.params, 'params');
    return boxInfo(ctx.reader, id, 'id');
  });
}
