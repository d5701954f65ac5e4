/**
 * bull-board under /queues for this home's two queues. Read-only when the
 * service has no token (anyone on loopback can look, nobody can retry or
 * delete jobs by accident); with a token the whole of /queues is behind it
 * (see auth.ts) and the board may act on jobs.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import { queueName } from '../../contract/queues.js';
import type { HttpContext } from './context.js';

export const DASHBOARD_PATH = '/queues';

export async function mountDashboard(app: FastifyInstance, ctx: HttpContext): Promise<void> {
  const readOnlyMode = ctx.token === null;
  const adapter = new FastifyAdapter();
  adapter.setBasePath(DASHBOARD_PATH);
  const describe = (role: 'ops' | 'gc') =>
    new BullMQAdapter(ctx.client.queue(role), {
      readOnlyMode,
      displayName: queueName(ctx.homeId, role),
      description: role === 'ops' ? 'fork, clone, snapshots, box create/remove, rootfs import' : 'garbage collection of bases (cascades) and the periodic sweep',
    });
  createBullBoard({
    queues: [describe('ops'), describe('gc')],
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: `forkpoint ${ctx.homeId}`, miscLinks: [{ text: 'Forest', url: '/' }] } },
  });
  await app.register(adapter.registerPlugin(), { prefix: DASHBOARD_PATH });
}
