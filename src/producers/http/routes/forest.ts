/**
 * Read-only views of the whole home.
 *   GET /api/forest   bases as a forest, boxes under the base they read, totals (what `forkpoint tree` prints)
 *   GET /api/check    the recovery report, as a dry run (what `forkpoint check` prints; nothing is repaired)
 */
import type { FastifyInstance } from 'fastify';
import { recover } from '../../../db/recovery/index.js';
import { readForest } from '../../home-view.js';
import type { HttpContext } from '../context.js';

export function forestRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.get('/api/forest', async () => readForest(ctx.reader));

  app.get('/api/check', async () => {
    const report = recover(ctx.layout.home, { repair: false });
    ctx.lastRecovery = report;
    return report;
  });
}
