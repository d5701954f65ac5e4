/**
 * Who may talk to the service. On loopback with no token: anyone on this
 * machine (like the CLI). Anywhere else a token is required at start, and then
 * every route but /healthz wants it: `Authorization: Bearer <token>` for
 * scripts, or HTTP Basic with the token as password so a browser can open the
 * page and the dashboard (it asks once, then sends it on every fetch).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorCodes, ForkpointError } from '../../errors.js';

export const OPEN_ROUTES: ReadonlySet<string> = new Set(['/healthz']);

export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Refuse at start, before anything is opened, to serve beyond this machine without a token. */
export function assertBindAllowed(host: string, token: string | null): void {
  if (!isLoopback(host) && !token) {
    throw new ForkpointError(
      ErrorCodes.INVALID_ARGUMENT,
      `refusing to listen on ${host} without a token: anyone who can reach it could create and remove disks; pass --token or set FORKPOINT_TOKEN (or bind to 127.0.0.1)`,
      { field: 'token' },
    );
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function presentedToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization ?? '';
  const bearer = /^Bearer\s+(.+)$/i.exec(header);
  if (bearer) return bearer[1]!.trim();
  const basic = /^Basic\s+(.+)$/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    return decoded.slice(decoded.indexOf(':') + 1);
  }
  return null;
}

export function installAuth(app: FastifyInstance, token: string | null): void {
  if (!token) return;
  const expected = digest(token);
  app.addHook('onRequest', async (request, reply) => {
    if (OPEN_ROUTES.has(request.url.split('?')[0]!)) return;
    const given = presentedToken(request);
    // Compare digests: constant time, and no length leak.
    if (given !== null && timingSafeEqual(digest(given), expected)) return;
    const err = new ForkpointError(ErrorCodes.UNAUTHORIZED, 'this forkpoint requires a token: send Authorization: Bearer <token>', {
      field: 'authorization',
    });
    // Browsers (page, dashboard) prompt for Basic credentials; API clients get the JSON error either way.
    if (!request.url.startsWith('/api/') && request.url !== '/metrics') void reply.header('www-authenticate', 'Basic realm="forkpoint", charset="UTF-8"');
    return reply.code(401).send({ error: err.toJSON() });
  });
}
