/**
 * bull-board under /queues for this home's two queues. Read-only when the
 * service has no token (its own user and root on loopback can look, nobody can retry or
 * delete jobs by accident); with a token the whole of /queues is behind it
 * (see auth.ts) and the board may act on jobs.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import { queueName } from '../../contract/queues.js';
import type { HttpContext } from './context.js';
import { markFailuresIn } from './dashboard-failures.js';

export const DASHBOARD_PATH = '/queues';

/**
 * bull-board's page links Google Fonts (IBM Plex); its CSS falls back to system fonts. A service
 * on a private network must not make its operators' browsers call out, so every stylesheet or
 * script the page would load from another origin is dropped, and a CSP says the same to the browser.
 */
const EXTERNAL_ASSET = /<link\b[^>]*\bhref="(?:https?:)?\/\/[^"]*"[^>]*>\s*|<script\b[^>]*\bsrc="(?:https?:)?\/\/[^"]*"[^>]*>\s*<\/script>\s*/gi;
export const DASHBOARD_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'";

export function stripExternalAssets(html: string): string {
  return html.replace(EXTERNAL_ASSET, '');
}

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
    options: {
      uiConfig: { boardTitle: `forkpoint ${ctx.homeId}`, miscLinks: [{ text: 'Forest', url: '/' }], hideDocsLink: true },
      // User mistakes must not read like faults: see dashboard-failures.ts.
      handlerHooks: { after: (_context, result) => ({ ...result, body: markFailuresIn(result.body) as typeof result.body }) },
    },
  });
  await app.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply, payload) => {
      if (!String(reply.getHeader('content-type') ?? '').startsWith('text/html')) return payload;
      reply.header('content-security-policy', DASHBOARD_CSP);
      if (typeof payload === 'string') return stripExternalAssets(payload);
      if (Buffer.isBuffer(payload)) return stripExternalAssets(payload.toString('utf8'));
      return payload;
    });
    await scope.register(adapter.registerPlugin(), { prefix: DASHBOARD_PATH });
  });
}
