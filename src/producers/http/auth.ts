/**
 * Who may talk to the service. On loopback with no token: the service's own
 * user and root (those who could use its home through the CLI: the home and
 * its Redis socket are theirs alone), told by the owner of the peer's socket;
 * and only under a loopback name: a request whose `Host` is not loopback (DNS
 * rebinding: a web page whose name resolves to 127.0.0.1) or whose `Origin` is
 * not a loopback origin (a web page posting cross-site) is refused with 403.
 * Another local user needs the token, as a remote caller does. Anywhere else
 * a token is required at start, and then every route but /healthz wants it: `Authorization: Bearer
 * <token>` for scripts, or HTTP Basic with the token as password so a browser
 * can open the page and the dashboard (it asks once, then sends it on every
 * fetch).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { isIP, Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCodes, ForkpointError, type ErrorDetails } from '../../errors.js';
import { tcpPeerUid, type TcpEnds } from '../../runtime/tcp-peer.js';

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

/** `Host` names a loopback address: 127.x.x.x, `localhost` or `[::1]`, with or without `:port`. */
export function isLoopbackHostHeader(header: string | undefined): boolean {
  if (!header) return false;
  const h = header.trim().toLowerCase();
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(h);
  if (!m) return false;
  return m[1] !== undefined ? m[1] === '::1' : isLoopback(m[2]!);
}

/** `Origin` is this machine's plain-HTTP origin: `http://127.x.x.x[:port]`, `http://localhost[:port]`, `http://[::1][:port]`. */
export function isLoopbackOrigin(header: string): boolean {
  let url: URL;
  try {
    url = new URL(header.trim());
  } catch {
    return false; // `null` (sandboxed frames, file://) and garbage
  }
  if (url.protocol !== 'http:' || url.username || url.password || (url.pathname !== '/' && url.pathname !== '')) return false;
  return url.hostname === '[::1]' || isLoopback(url.hostname);
}

const isOpenRoute = (request: FastifyRequest): boolean => OPEN_ROUTES.has(request.url.split('?')[0]!);

/** Refusals leave the way every HTTP error does: `{ error: ForkpointError.toJSON() }`. */
function refuse(reply: FastifyReply, status: 401 | 403, err: ForkpointError): FastifyReply {
  return reply.code(status).send({ error: err.toJSON() });
}

/** A loopback request refused for who or where it is from: logged (an operator asks why), then 403. */
function forbid(request: FastifyRequest, reply: FastifyReply, err: ForkpointError): FastifyReply {
  request.log.info({ code: err.code, details: err.details }, `${request.method} ${request.url}: ${err.message}`);
  return refuse(reply, 403, err);
}

export function installAuth(app: FastifyInstance, token: string | null): void {
  if (!token) {
    installLoopbackGuard(app);
    return;
  }
  const expected = digest(token);
  app.addHook('onRequest', async (request, reply) => {
    if (isOpenRoute(request)) return;
    const given = presentedToken(request);
    // Compare digests: constant time, and no length leak.
    if (given !== null && timingSafeEqual(digest(given), expected)) return;
    const err = new ForkpointError(ErrorCodes.UNAUTHORIZED, 'this forkpoint requires a token: send Authorization: Bearer <token>', {
      field: 'authorization',
    });
    // Browsers (page, dashboard) prompt for Basic credentials; API clients get the JSON error either way.
    if (!request.url.startsWith('/api/') && request.url !== '/metrics') void reply.header('www-authenticate', 'Basic realm="forkpoint", charset="UTF-8"');
    return refuse(reply, 401, err);
  });
}

/**
 * Without a token the service trusts its own user and root on this machine, so
 * it must only be reached as this machine: a browser sends the name it resolved
 * as `Host` and the page that made the request as `Origin` (the page at `/` and
 * the dashboard are same-origin, so their requests pass); and the socket the
 * request came through must be one of theirs.
 */
function installLoopbackGuard(app: FastifyInstance): void {
  app.server.on('connection', noteConnection);
  app.addHook('onRequest', async (request, reply) => {
    if (isOpenRoute(request)) return;
    const host = request.headers.host;
    if (!isLoopbackHostHeader(host)) {
      const err = new ForkpointError(
        ErrorCodes.FORBIDDEN,
        `refusing a request for host "${host ?? ''}": without a token this forkpoint answers only to 127.0.0.1, localhost or [::1]`,
        { field: 'host', host: host ?? null },
      );
      return forbid(request, reply, err);
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !isLoopbackOrigin(origin)) {
      const err = new ForkpointError(
        ErrorCodes.FORBIDDEN,
        `refusing a cross-origin request from "${origin}": without a token this forkpoint answers only to pages on http://127.0.0.1, http://localhost or http://[::1]`,
        { field: 'origin', origin },
      );
      return forbid(request, reply, err);
    }
    const peer = peerOf(request.raw.socket);
    if (peer !== 'trusted') {
      const self = process.getuid!();
      const { who, details, options } = refusedPeer(peer);
      const err = new ForkpointError(
        ErrorCodes.FORBIDDEN,
        `refusing a request from ${who}: without a token this forkpoint (uid ${self}) answers only to its own user and root; start it with a token (FORKPOINT_TOKEN) and send that, or run the CLI as uid ${self}`,
        details,
        options,
      );
      return forbid(request, reply, err);
    }
  });
}

/** A refused peer, as its refusal names it: a uid, no socket of this machine, or the error that kept the table from being read. */
function refusedPeer(peer: number | null | ForkpointError): { who: string; details: ErrorDetails; options?: { cause: ForkpointError } } {
  if (peer instanceof ForkpointError) {
    return { who: `a caller this service cannot tell (${peer.message})`, details: { field: 'peer', uid: null, errno: peer.details.errno ?? null }, options: { cause: peer } };
  }
  if (peer === null) return { who: 'a connection whose socket no process here holds (closed by its caller, or not made on this machine)', details: { field: 'peer', uid: null } };
  return { who: `uid ${peer}`, details: { field: 'peer', uid: peer } };
}

/** Without a token: the service's own user, and root (who may use any home anyway); `null`, a peer no socket of this machine is, never. Pure. */
export const mayCallWithoutToken = (peerUid: number | null, serviceUid: number): boolean => peerUid !== null && (peerUid === serviceUid || peerUid === 0);

/** A connection's ends, taken as it is accepted (a socket closed by the time its request is judged tells none), and its verdict once told. */
interface Peer {
  ends: TcpEnds | null;
  verdict?: 'trusted' | number | null;
}
const peers = new WeakMap<Socket, Peer>();

function endsOf(socket: Socket): TcpEnds | null {
  const { localAddress, localPort, remoteAddress, remotePort } = socket;
  const known = localAddress !== undefined && localPort !== undefined && remoteAddress !== undefined && remotePort !== undefined;
  return known ? { localAddress, localPort, remoteAddress, remotePort } : null;
}

const noteConnection = (socket: Socket): void => void peers.set(socket, { ends: endsOf(socket) });

/**
 * 'trusted': the peer is this service's user or root (or nothing can tell: no /proc/net, not
 * Linux; or a request injected in-process, which has no kernel socket); else the peer's uid, or
 * null when no living socket of this machine is the peer, or the error that kept the socket
 * table from being read. Told once per connection (a socket's owner does not change), except
 * that error, which is asked again next time.
 */
function peerOf(socket: unknown): 'trusted' | number | null | ForkpointError {
  if (!(socket instanceof Socket)) return 'trusted';
  // Not noted: accepted by a listener other than app.server (`--host localhost` binds a second one
  // for the other loopback address); its ends are read now, and a socket closed by now has none.
  const peer = peers.get(socket) ?? { ends: endsOf(socket) };
  if (peer.verdict === undefined) {
    let found: { uid: number | null } | null;
    try {
      found = peer.ends === null ? { uid: null } : tcpPeerUid(peer.ends);
    } catch (err) {
      // No file descriptor left, say: refused, not taken for "nothing can tell".
      return err instanceof ForkpointError ? err : new ForkpointError(ErrorCodes.IO, `cannot read the socket table: ${String(err)}`, {}, { cause: err });
    }
    peer.verdict = found === null || mayCallWithoutToken(found.uid, process.getuid!()) ? 'trusted' : found.uid;
    peers.set(socket, peer);
  }
  return peer.verdict;
}
