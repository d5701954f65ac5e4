/**
 * GET /healthz: the process answers (no auth, always 200).
 * GET /readyz:  200 when Redis answers a PING, the database reads and start-up
 *               recovery is done; 503 with the reasons otherwise.
 */
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../context.js';

export function healthRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.get('/healthz', { schema: { summary: 'the process answers (no auth, always 200)' } }, async () => ({ ok: true }));

  const readyz = { summary: 'ready: Redis answers, the database reads, start-up recovery is done (503 with the problems otherwise)' };
  app.get('/readyz', { schema: readyz }, async (_request, reply) => {
    const problems: { check: string; problem: string }[] = [];
    if (ctx.stopping) problems.push({ check: 'service', problem: 'shutting down' });
    const redis = await ctx.probes.redis();
    if (redis !== null) problems.push({ check: 'redis', problem: redis });
    try {
      ctx.reader.findBox('__readyz__'); // one indexed read: the connection and schema answer
    } catch (err) {
      problems.push({ check: 'db', problem: (err as Error).message });
    }
    if (!ctx.pipeline.recovery) problems.push({ check: 'recovery', problem: 'start-up recovery has not finished' });
    if (problems.length > 0) void reply.code(503);
    return { ready: problems.length === 0, problems, recovery: ctx.pipeline.recovery?.summary ?? null };
  });
}
