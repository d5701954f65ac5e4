/** Reading what a `serve` child said, and talking to a private redis-server directly, for the Redis-outage tests. */
import { Redis } from 'ioredis';

/** The messages of a serve's pino lines (stderr) at error level (50) or above. */
export const errorLines = (stderr: string): string[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string })
    .filter((l) => l.level >= 50)
    .map((l) => l.msg);

/** Run `f` with a client on a redis-server's unix socket that never retries (the server may be the one being killed). */
export async function onSocket<T>(socket: string, f: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis({ path: socket, maxRetriesPerRequest: 1, retryStrategy: () => null });
  c.on('error', () => undefined);
  try {
    return await f(c);
  } finally {
    c.disconnect();
  }
}
