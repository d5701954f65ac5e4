/**
 * Find the Redis a home's pipeline uses: the one asked for (flag or
 * REDIS_URL), else the home's private redis-server (started, or taken over,
 * when `redis-server` is installed). A URL that does not answer is an error,
 * never silently replaced. No local Redis is taken unasked: one answering on
 * 127.0.0.1:6379 without a password (a packaged redis-server) takes commands
 * from every local user, who could then read this home's job payloads and
 * queue jobs its pipeline runs, with its owner's rights (often root's).
 */
import { Redis } from 'ioredis';
import { ErrorCodes, ForkpointError } from '../errors.js';
import type { Config } from './config.js';
import type { LogLine } from './log-line.js';
import { redisServerAvailable, startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis.js';
import { parseRedisUrl, type RedisTarget } from './redis-url.js';
import { redisRefusesWrites } from './redis-refusal.js';

export interface ResolvedRedis {
  url: string;
  target: RedisTarget;
  embedded: EmbeddedRedis | null;
}

const HOW_TO_GET_REDIS =
  'install it (apt-get install redis-server), run one (docker compose up -d redis), or pass --redis URL / set REDIS_URL';

/**
 * Ping a Redis (or one node of a cluster, and the cluster's state) once, quickly; never retries.
 * Bounded as a whole: connectTimeout ends at the socket's connect, and a server that accepts but
 * never answers (stopped, stuck on its disk) would otherwise hold the ready check for ever.
 */
export async function pingRedis(target: RedisTarget, timeoutMs = 1500): Promise<string | null> {
  if (target.cluster) return pingCluster(target, timeoutMs);
  const client = new Redis({ ...target.options, lazyConnect: true, connectTimeout: timeoutMs, commandTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<string>((r) => (timer = setTimeout(() => r(`no answer within ${timeoutMs} ms`), timeoutMs * 2)));
  try {
    return await Promise.race([
      (async () => {
        await client.connect();
        await client.ping();
        return null;
      })().catch((err: Error) => err.message),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/** A cluster answers when a seed node does and says the cluster is ok (all slots served). */
async function pingCluster(target: RedisTarget, timeoutMs: number): Promise<string | null> {
  let last = 'no seed node';
  for (const node of target.cluster!) {
    const client = new Redis({ ...target.options, ...node, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const info = String(await client.call('CLUSTER', 'INFO'));
      if (/cluster_state:ok/.test(info)) return null;
      last = `${node.host}:${node.port} says ${/cluster_state:\w+/.exec(info)?.[0] ?? 'no cluster state'}`;
    } catch (err) {
      last = `${node.host}:${node.port}: ${(err as Error).message}`;
    } finally {
      client.disconnect();
    }
  }
  return last;
}

/** BullMQ loses jobs under eviction; say so once at start-up. */
export async function evictionPolicyWarning(target: RedisTarget): Promise<string | null> {
  // On a cluster, the first seed node speaks for the others (they are configured alike, or should be).
  const client = new Redis({ ...target.options, ...(target.cluster ? target.cluster[0] : {}), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const reply = (await client.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
    const policy = reply[1];
    return policy && policy !== 'noeviction'
      ? `Redis at ${target.display} has maxmemory-policy=${policy}; set it to noeviction or queued jobs may be evicted`
      : null;
  } catch {
    return null; // managed Redis often forbids CONFIG; nothing to say then
  } finally {
    client.disconnect();
  }
}

export async function resolveRedis(config: Config, runDir: string, say: LogLine): Promise<ResolvedRedis> {
  if (config.redisUrl === null) return privateRedis(runDir, say);
  const target = parseRedisUrl(config.redisUrl);
  const problem = await pingRedis(target);
  if (problem === null) {
    const warning = await evictionPolicyWarning(target);
    if (warning) say(warning, 'warn'); // queued jobs may be lost: an operator must act
    return { url: config.redisUrl, target, embedded: null };
  }
  // Refusing writes (it cannot save its data: its disk full) or silent: a Redis named is never replaced by another.
  throw (
    redisRefusesWrites(new Error(problem), target.display) ??
    new ForkpointError(ErrorCodes.REDIS_UNAVAILABLE, `Redis at ${target.display} does not answer (${problem}); ${HOW_TO_GET_REDIS}`, { field: 'redis' })
  );
}

/** The home's own redis-server (its socket and data under run/), started or taken over. */
async function privateRedis(runDir: string, say: LogLine): Promise<ResolvedRedis> {
  if (!redisServerAvailable()) {
    throw new ForkpointError(ErrorCodes.REDIS_UNAVAILABLE, `no Redis named and no redis-server to start this home's own; ${HOW_TO_GET_REDIS}`, { field: 'redis' });
  }
  const embedded = await startEmbeddedRedis(runDir);
  say(
    embedded.adoptedPid !== null
      ? `took over the private redis-server (pid ${embedded.adoptedPid}) a previous owner of this home left running at unix:${embedded.socket}`
      : `started a private redis-server for this home at unix:${embedded.socket} (data in ${embedded.dataDir}; --redis or REDIS_URL names another)`,
  );
  return { url: embedded.url, target: parseRedisUrl(embedded.url), embedded };
}
