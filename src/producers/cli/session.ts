/**
 * How a CLI command reaches a pipeline. If `forkpoint serve` owns the home,
 * the command enqueues on the service's Redis and waits. Otherwise it takes
 * the home lock and runs an embedded pipeline for the duration of the command
 * (never two writers on one home). A home held by another CLI command is
 * waited for, briefly.
 */
import { mkdirSync, realpathSync } from 'node:fs';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { homeLayout, type HomeLayout } from '../../layout.js';
import { resolveConfig, type Config, type ConfigFlags } from '../../runtime/config.js';
import { readOrMintHomeId } from '../../runtime/home-id.js';
import { homeModes } from '../../runtime/home-mode.js';
import type { HomeLock, OwnerInfo } from '../../runtime/home-lock.js';
import type { Forkpoint } from '../client.js';
import { flushStdio } from './output.js';

export interface GlobalFlags extends ConfigFlags {
  json?: boolean;
}

export interface Session {
  config: Config;
  layout: HomeLayout;
  homeId: string;
  client: Forkpoint;
  mode: 'service' | 'embedded';
  /** Through a service: the folders it reads request files from (hand files over with hand-over.ts). */
  importDirs?: readonly string[];
}

const say = (line: string) => process.stderr.write(`forkpoint: ${line}\n`);

/** The home's layout with its canonical path (stored base paths are compared as strings). */
export function openHome(flags: GlobalFlags): { config: Config; layout: HomeLayout; homeId: string } {
  // Only the program's global options configure the home. Commands pass optsWithGlobals(), which mixes
  // in their own options: `clone --prefix P` (clone names) once became the *queue* prefix here, so with
  // `serve` running the job went to a queue nobody consumes and the command hung.
  const config = resolveConfig({ home: flags.home, redis: flags.redis });
  mkdirSync(config.home, { recursive: true, mode: homeModes().dir }); // a new home is private; its writer tightens an old one
  const layout = homeLayout(realpathSync(config.home));
  return { config: { ...config, home: layout.home }, layout, homeId: readOrMintHomeId(layout.home) };
}

async function lockOrWait(layout: HomeLayout, homeId: string, waitMs: number): Promise<HomeLock | OwnerInfo> {
  // Loaded here, not at the top: it pulls in better-sqlite3, and `--help` should not pay for that.
  const { ownerNow, waitForHomeLock } = await import('../../runtime/home-lock.js');
  // A serve still recovering has not written its Redis yet: wait for it, as for a busy CLI.
  const isReadyService = (holder: OwnerInfo | null) => holder?.kind === 'serve' && holder.redisUrl !== '';
  const waited = await waitForHomeLock(layout.runDir, ownerNow('cli', homeId), { waitMs, giveUpIf: isReadyService });
  if (waited.lock) return waited.lock;
  // Decided on the holder the wait gave up on: reading owner.json again could find it gone already.
  if (isReadyService(waited.holder)) return waited.holder!;
  throw new ForkpointError(ErrorCodes.HOME_LOCKED, `home ${layout.home} is busy with another forkpoint command (pid ${waited.holder?.pid ?? '?'}); try again`, {
    path: layout.home,
  });
}

/**
 * Wait for `work`, but not for ever: if the service we enqueued to stops (its
 * lock is free again, or another process owns the home now, as after a quick
 * supervisor restart), nobody may ever answer our wait, so say so instead of
 * waiting on.
 */
async function whileServiceLives<T>(layout: HomeLayout, service: OwnerInfo, work: Promise<T>): Promise<T> {
  const { ownerNow, readOwner, tryLockHome } = await import('../../runtime/home-lock.js');
  const kept = service.redisEmbedded
    ? 'its private Redis kept nothing, so run the command again'
    : 'the job stays queued and runs when the home is next served';
  let timer: NodeJS.Timeout | undefined;
  const gone = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      const probe = tryLockHome(layout.runDir, ownerNow('cli', ''));
      probe?.release();
      const now = readOwner(layout.runDir);
      const same = !probe && now?.pid === service.pid && now.startedAt === service.startedAt;
      if (same) return;
      reject(new ForkpointError(ErrorCodes.SHUTTING_DOWN, `forkpoint serve (pid ${service.pid}) stopped before finishing; ${kept}`, { path: layout.home }));
    }, 1000);
  });
  try {
    return await Promise.race([work, gone]);
  } finally {
    clearInterval(timer);
  }
}

export async function withSession<T>(flags: GlobalFlags, run: (s: Session) => Promise<T>): Promise<T> {
  const { config, layout, homeId } = openHome(flags);
  const { Forkpoint } = await import('../client.js');
  const held = await lockOrWait(layout, homeId, 120_000);

  if ('kind' in held) {
    const owner = held;
    const { pingRedis } = await import('../../runtime/connect-redis.js');
    const { parseRedisUrl } = await import('../../runtime/redis-url.js');
    const problem = await pingRedis(parseRedisUrl(owner.redisUrl));
    if (problem !== null) {
      throw new ForkpointError(ErrorCodes.REDIS_UNAVAILABLE, `forkpoint serve (pid ${owner.pid}) owns ${layout.home}, but its Redis at ${owner.redisUrl} does not answer (${problem})`, {
        path: layout.home,
      });
    }
    // The service's queues are under its prefix, whatever this shell's FORKPOINT_PREFIX says.
    const prefix = owner.prefix ?? config.prefix;
    const client = await Forkpoint.connect({ redisUrl: owner.redisUrl, homeId, prefix });
    try {
      return await whileServiceLives(layout, owner, run({ config: { ...config, prefix }, layout, homeId, client, mode: 'service', ...(owner.importDirs ? { importDirs: owner.importDirs } : {}) }));
    } finally {
      await client.close();
    }
  }

  const lock = held;
  const { resolveRedis } = await import('../../runtime/connect-redis.js');
  const { startPipeline } = await import('../../workers/pipeline.js');
  let redis: Awaited<ReturnType<typeof resolveRedis>> | null = null;
  let pipeline: Awaited<ReturnType<typeof startPipeline>> | null = null;
  let client: Forkpoint | null = null;
  // SIGINT/SIGTERM sent to this command alone (`timeout`, a cancelled CI job, `kill`) must still
  // stop what it started: the pipeline, and above all a private redis-server, which would
  // otherwise outlive it. Half-done work is finished or undone by the next start's recovery.
  let interruptedBy: NodeJS.Signals | null = null;
  let onInterrupt!: (signal: NodeJS.Signals) => void;
  const interrupted = new Promise<never>((_, reject) => {
    onInterrupt = (signal) => {
      interruptedBy = signal;
      reject(new ForkpointError(ErrorCodes.SHUTTING_DOWN, `interrupted by ${signal}`, { signal }));
    };
  });
  interrupted.catch(() => undefined);
  process.once('SIGINT', onInterrupt);
  process.once('SIGTERM', onInterrupt);
  try {
    redis = await resolveRedis(config, layout.runDir, say);
    lock.update({ redisUrl: redis.url });
    pipeline = await startPipeline({ layout, homeId, redisUrl: redis.url, prefix: config.prefix, poolSize: config.poolSize, log: say });
    client = await Forkpoint.connect({ redisUrl: redis.url, homeId, prefix: config.prefix });
    const started = pipeline;
    const connected = client;
    // The pipeline dying (its DB writer thread) ends the command at once; what it cut off stays
    // queued, and the next owner's recovery and retries finish it.
    const fatal = new Promise<never>((_, reject) => started.onFatal(reject));
    return await Promise.race([
      fatal,
      interrupted,
      (async () => {
        const result = await run({ config, layout, homeId, client: connected, mode: 'embedded' });
        // Let the GC cascade this command started finish before the pipeline goes away.
        while ((await connected.pending('gc')) > 0) await new Promise((r) => setTimeout(r, 20));
        return result;
      })(),
    ]);
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
    await client?.close();
    await pipeline?.close(interruptedBy ? 0 : undefined); // interrupted: do not wait for the job
    await redis?.embedded?.stop();
    lock.release();
    if (interruptedBy) {
      say(`interrupted by ${interruptedBy}; stopped the pipeline${redis?.embedded ? ' and its private redis-server' : ''}`);
      // End as the signal would have (exit status 128 + n), now that everything is cleaned up and said.
      await flushStdio();
      process.kill(process.pid, interruptedBy);
    }
  }
}
