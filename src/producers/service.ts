/**
 * `forkpoint serve`: own a home for the life of the process — lock, Redis
 * (given, or the home's private one), recovery, the pipeline — until SIGINT/SIGTERM,
 * then shut down in order: stop taking jobs, let active ones finish (bounded),
 * close the pool, drain the writer, close the DB, release the home.
 */
import { mkdirSync } from 'node:fs';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { homeBusyError, isLiveService, ownerNow, waitForHomeLock, type OwnerInfo } from '../runtime/home-lock.js';
import { resolveRedis } from '../runtime/connect-redis.js';
import { keepEmbeddedRedis, type KeptRedis } from '../runtime/embedded-redis-keeper.js';
import { startPipeline, type Pipeline } from '../workers/pipeline.js';
import { assertImportDirs, type Config } from '../runtime/config.js';
import type { LogLine } from '../runtime/log-line.js';
import type { HomeLayout } from '../layout.js';

export interface ServiceOptions {
  config: Config;
  layout: HomeLayout;
  homeId: string;
  log: LogLine;
  shutdownGraceMs?: number;
  /** The import folders (default `<home>/import`): a service reads files that requests name only from there. */
  importDirs?: string[];
  /** How long to wait for a CLI command that holds the home to finish (ms; default 60 s). Another service is refused at once. */
  homeWaitMs?: number;
  /** Aborting it ends the wait for the home: startService then throws E_SHUTTING_DOWN, having started nothing. */
  signal?: AbortSignal;
}

export const DEFAULT_HOME_WAIT_MS = 60_000;

export interface RunningService {
  pipeline: Pipeline;
  redisUrl: string;
  /** Write the HTTP address into the owner file, so CLI commands can ask the service (`forkpoint check`). */
  advertise(httpUrl: string): void;
  /** Called once if the service cannot go on: its DB writer died, or its private redis-server is gone for good. */
  onFatal(listener: (err: Error) => void): void;
  /** Resolves false when Redis did not let the pipeline close the ordinary way (see pipeline.closeOutcome). */
  stop(): Promise<boolean>;
}

function holderName(holder: OwnerInfo | null): string {
  if (holder?.kind === 'serve') return `another process (the owner file still names forkpoint serve pid ${holder.pid}, which has exited)`;
  return `a forkpoint command (pid ${holder?.pid ?? '?'})`;
}

export async function startService(o: ServiceOptions): Promise<RunningService> {
  if (o.importDirs) assertImportDirs(o.layout.home, o.importDirs); // before anything starts
  const waitMs = o.homeWaitMs ?? DEFAULT_HOME_WAIT_MS;
  const waited = await waitForHomeLock(o.layout.runDir, ownerNow('serve', o.homeId), {
    waitMs,
    // Two services for one home is a deployment mistake, not a wait: say so now. An owner file
    // naming a serve that has exited is stale: a command holds the lock (one that probes the home
    // after that serve's crash, before it rewrites the file), so it is waited for like one.
    giveUpIf: isLiveService,
    onWait: (holder) => o.log(`home ${o.layout.home} is busy with ${holderName(holder)}; waiting for it to finish`),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (!waited.lock) {
    if (waited.aborted) throw new ForkpointError(ErrorCodes.SHUTTING_DOWN, `stopped while waiting for home ${o.layout.home}; nothing was started`, { path: o.layout.home });
    throw homeBusyError(o.layout.home, waited.holder, isLiveService(waited.holder) ? undefined : waitMs);
  }
  const lock = waited.lock;
  let redis: Awaited<ReturnType<typeof resolveRedis>> | null = null;
  let kept: KeptRedis | null = null;
  try {
    redis = await resolveRedis(o.config, o.layout.runDir, o.log);
    // A private server that dies is restarted on its data and socket (runtime/embedded-redis-keeper.ts).
    if (redis.embedded) kept = keepEmbeddedRedis(redis.embedded, o.layout.runDir, o.log);
    if (!o.importDirs) mkdirSync(o.layout.importDir, { recursive: true, mode: 0o700 });
    const pipeline = await startPipeline({
      layout: o.layout,
      homeId: o.homeId,
      redisUrl: redis.url,
      prefix: o.config.prefix,
      poolSize: o.config.poolSize,
      log: o.log,
      importDirs: o.importDirs ?? [o.layout.importDir],
      ...(o.shutdownGraceMs !== undefined ? { shutdownGraceMs: o.shutdownGraceMs } : {}),
    });
    // Written after the pipeline is up: a CLI that finds a 'serve' owner may enqueue at once.
    lock.update({
      redisUrl: redis.url,
      prefix: o.config.prefix,
      redisEmbedded: redis.embedded !== undefined && redis.embedded !== null,
      ...(redis.embedded ? { redisPersistent: redis.embedded.dataDir !== null } : {}),
      ...(pipeline.importDirs ? { importDirs: [...pipeline.importDirs] } : {}),
    });
    const k = kept;
    let stopping: Promise<boolean> | null = null;
    return {
      pipeline,
      redisUrl: redis.url,
      advertise(httpUrl) {
        lock.update({ httpUrl });
      },
      onFatal(listener) {
        pipeline.onFatal(listener);
        k?.onLost(listener);
      },
      stop() {
        stopping ??= (async () => {
          const outcome = await pipeline.closeOutcome();
          await k?.stop();
          lock.release({ stopped: true }); // a command waiting on this service reads this as a clean stop
          return outcome.closed || (outcome.redisReachable && outcome.cutOff.length === 0);
        })();
        return stopping;
      },
    };
  } catch (err) {
    await (kept ? kept.stop() : redis?.embedded?.stop());
    lock.release();
    throw err;
  }
}
