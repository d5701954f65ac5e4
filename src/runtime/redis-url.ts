/**
 * Redis addresses as users write them → ioredis options. Pure.
 * Accepts redis://, rediss://, and unix sockets as `unix:///path`,
 * `redis+unix:///path` or a bare absolute path (`/run/redis.sock`).
 */
import { ErrorCodes, ForkpointError } from '../errors.js';

export interface RedisTarget {
  /** What to show people (never contains a password). */
  display: string;
  options: { path?: string; host?: string; port?: number; username?: string; password?: string; db?: number; tls?: object };
}

export function parseRedisUrl(url: string): RedisTarget {
  if (url.startsWith('/')) return { display: `unix:${url}`, options: { path: url } };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `invalid Redis URL "${url}": expected redis://host:port, rediss://… or unix:///path`, {
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
