/**
 * Views of the whole home, and its repair.
 *   GET /api/forest   bases as a forest, boxes under the base they read, totals (what `forkpoint tree` prints)
 *   GET /api/check    the recovery report, as a dry run (what `forkpoint check` prints; nothing is repaired),
 *                     with what running jobs are working on marked in flight rather than counted as problems
 *   POST /api/check/repair   recovery through the running pipeline (its workers paused meanwhile)
 */
import type { FastifyInstance } from 'fastify';
import { markInFlight, recover } from '../../../workers/recovery/index.js';
import { readForest } from '../../home-view.js';
import type { HttpContext } from '../context.js';

export function forestRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.get('/api/forest', { schema: { summary: 'bases as a forest, boxes under the base they read, totals (forkpoint tree)' } }, async () => readForest(ctx.reader));

  app.get('/api/check', { schema: { summary: 'the recovery report as a dry run (forkpoint check); jobs in flight are marked, not counted' } }, async () => {
    // Taken before the check reads anything: a job that starts meanwhile may still show as a problem,
    // but one that was running is never reported as one.
    const running = ctx.pipeline.active.snapshot();
    const report = markInFlight(await recover(ctx.layout.home, { repair: false }), running);
    ctx.lastRecovery = report;
    return report;
  });

  // The repair `forkpoint check --repair` asks for while the service owns the home: the pipeline
  // pauses its workers (active jobs finish first), repairs, and takes jobs again.
  app.post('/api/check/repair', { schema: { summary: 'repair through the running pipeline (its workers pause meanwhile)' } }, async () => {
    const report = await ctx.pipeline.repair();
    ctx.lastRecovery = report;
    return report;
  });
}
