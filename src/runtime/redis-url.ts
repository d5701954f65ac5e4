/**
 * Redis addresses as users write them → ioredis options. Pure.
 * Accepts redis://, rediss://, and unix sockets as `unix:///path`,
 * `redis+unix:///path` or a bare absolute path (`/run/redis.sock`); a Redis
 * Cluster as `redis-cluster://host:port,host:port` (see parseClusterUrl).
 */
import { ErrorCodes, ForkpointError } from '../errors.js';

export interface RedisTarget {
  /** What to show people (never contains a password). */
  display: string;
  options: { path?: string; host?: string; port?: number; username?: string; password?: string; db?: number; tls?: object };
  /** A Redis Cluster's seed nodes (`redis-cluster://h1:p1,h2:p2`); `options` then apply to every node. */
  cluster?: { host: string; port: number }[];
}

/**
 * `redis-cluster://[user:pass@]host:port[,host:port…]` (or `rediss-cluster://` with TLS): the
 * seed nodes of a Redis Cluster; the client learns the rest of the cluster from them.
 */
function parseClusterUrl(url: string): RedisTarget {
  const tls = url.startsWith('rediss-cluster://');
  const rest = url.slice(tls ? 'rediss-cluster://'.length : 'redis-cluster://'.length).replace(/\/+$/, '');
  const at = rest.lastIndexOf('@');
  const [user, pass] = at >= 0 ? splitOnce(rest.slice(0, at), ':') : [undefined, undefined];
  const bad = (why: string) =>
    new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `invalid Redis Cluster URL "${url.replace(/\/\/[^@/]*@/, '//***@')}": ${why}; expected redis-cluster://host:port,host:port,…`, { field: 'redis' });
  const nodes = rest
    .slice(at + 1)
    .split(',')
    .map((node) => {
      const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(node.trim());
      if (!m || !m[1] || Number(m[2]) < 1 || Number(m[2]) > 65535) throw bad(`node "${node}" is not host:port`);
      return { host: m[1], port: Number(m[2]) };
    });
  const auth = { ...(user ? { username: decodeURIComponent(user) } : {}), ...(pass ? { password: decodeURIComponent(pass) } : {}) };
  return {
    display: `${tls ? 'rediss' : 'redis'}-cluster://${nodes.map((n) => `${n.host}:${n.port}`).join(',')}`,
    options: { ...auth, ...(tls ? { tls: {} } : {}) },
    cluster: nodes,
  };
}

function splitOnce(s: string, sep: string): [string | undefined, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s || undefined, undefined] : [s.slice(0, i) || undefined, s.slice(i + 1) || undefined];
}

export function parseRedisUrl(url: string): RedisTarget {
  if (url.startsWith('/')) return { display: `unix:${url}`, options: { path: url } };
  if (url.startsWith('redis-cluster://') || url.startsWith('rediss-cluster://')) return parseClusterUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `invalid Redis URL "${url}": expected redis://host:port, rediss://…, unix:///path or redis-cluster://host:port,…`, {
      field: 'redis',
    });
  }
  const auth = {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
  };
  switch (parsed.protocol) {
    case 'unix:':
    case 'redis+unix:':
    case 'redis-socket:': {
      const path = decodeURIComponent(parsed.pathname);
      return { display: `unix:${path}`, options: { path, ...auth } };
    }
    case 'redis:':
    case 'rediss:': {
      const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined;
      if (db !== undefined && !Number.isInteger(db)) {
        throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `invalid Redis URL "${url}": database "${parsed.pathname.slice(1)}" is not a number`, {
          field: 'redis',
        });
      }
      const host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
      const port = parsed.port ? Number(parsed.port) : 6379;
      return {
        display: `${parsed.protocol}//${host}:${port}${db !== undefined ? `/${db}` : ''}`,
        options: { host, port, ...auth, ...(db !== undefined ? { db } : {}), ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}) },
      };
    }
    default:
      throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `invalid Redis URL "${url}": unsupported scheme ${parsed.protocol}`, {
        field: 'redis',
      });
  }
}
