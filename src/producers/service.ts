/**
 * `forkpoint serve`: own a home for the life of the process — lock, Redis
 * (given, local or embedded), recovery, the pipeline — until SIGINT/SIGTERM,
 * then shut down in order: stop taking jobs, let active ones finish (bounded),
 * close the pool, drain the writer, close the DB, release the home.
 */
import { lockHomeOrThrow } from '../runtime/home-lock.js';
import { resolveRedis } from '../runtime/connect-redis.js';
import { startPipeline, type Pipeline } from '../workers/pipeline.js';
import type { Config } from '../runtime/config.js';
import type { HomeLayout } from '../layout.js';

export interface ServiceOptions {
  config: Config;
  layout: HomeLayout;
  homeId: string;
  log: (line: string) => void;
  shutdownGraceMs?: number;
}

export interface RunningService {
  pipeline: Pipeline;
  redisUrl: string;
  stop(): Promise<void>;
}

export async function startService(o: ServiceOptions): Promise<RunningService> {
  const lock = lockHomeOrThrow(
    o.layout.runDir,
    { pid: process.pid, kind: 'serve', redisUrl: '', homeId: o.homeId, startedAt: new Date().toISOString() },
    o.layout.home,
  );
  let redis: Awaited<ReturnType<typeof resolveRedis>> | null = null;
  try {
    redis = await resolveRedis(o.config, o.layout.runDir, o.log);
    const pipeline = await startPipeline({
      layout: o.layout,
      homeId: o.homeId,
      redisUrl: redis.url,
      prefix: o.config.prefix,
      poolSize: o.config.poolSize,
      log: o.log,
      ...(o.shutdownGraceMs !== undefined ? { shutdownGraceMs: o.shutdownGraceMs } : {}),
    });
    // Written after the pipeline is up: a CLI that finds a 'serve' owner may enqueue at once.
    lock.update({ redisUrl: redis.url });
    const r = redis;
    let stopping: Promise<void> | null = null;
    return {
      pipeline,
      redisUrl: redis.url,
      stop() {
        stopping ??= (async () => {
          await pipeline.close();
          await r.embedded?.stop();
          lock.release();
        })();
        return stopping;
      },
    };
  } catch (err) {
    await redis?.embedded?.stop();
    lock.release();
    throw err;
  }
}
