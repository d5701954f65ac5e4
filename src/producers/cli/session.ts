/**
 * How a CLI command reaches a pipeline. If `forkpoint serve` owns the home,
 * the command enqueues on the service's Redis and waits. Otherwise it takes
 * the home lock and runs an embedded pipeline for the duration of the command
 * (never two writers on one home). A home held by another CLI command is
 * waited for, briefly.
 */
import { accessSync, constants, existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, ForkpointError, isForkpointError } from '../../errors.js';
import { homeLayout, type HomeLayout } from '../../layout.js';
import { resolveConfig, type Config, type ConfigFlags } from '../../runtime/config.js';
import { readHomeId, readOrMintHomeId } from '../../runtime/home-id.js';
import { homeModes, makeHomeFolder } from '../../runtime/home-mode.js';
import type { HomeLock, OwnerInfo } from '../../runtime/home-lock.js';
import type { ResolvedRedis } from '../../runtime/connect-redis.js';
import type { Pipeline } from '../../workers/pipeline.js';
import type { Forkpoint } from '../client.js';
import type { LogLine } from '../../runtime/log-line.js';
import { flushStdio } from './output.js';
import { endedJobs, interruptedLines, shellWord } from './interrupted.js';

export interface GlobalFlags extends ConfigFlags {
  json?: boolean;
  /** `--timeout <seconds>`: how long a command waits for the home and for each job's result (then exit 3). */
  timeout?: number;
  /** `--quiet`, `--progress MODE`: see progress.ts. */
  quiet?: boolean;
  progress?: 'auto' | 'bar' | 'json' | 'none';
}

export interface Session {
  config: Config;
  layout: HomeLayout;
  homeId: string;
  client: Forkpoint;
  mode: 'service' | 'embedded';
  /** `--quiet`: notices of what the command started or resumed are not printed (warnings and errors are). */
  quiet: boolean;
  /** Tell the session which job the command waits for (named if its service goes before the end). */
  noteJob(job: NotedJob): void;
  /** Through a service: the folders it reads request files from (hand files over with hand-over.ts). */
  importDirs?: readonly string[];
}

const say = (line: string) => process.stderr.write(`forkpoint: ${line}\n`);

/**
 * What a command does with its home: `read` it (nothing is written, not even the home id), `write`
 * to a home that must exist already (its id is minted if it has none), or `create` it if need be
 * (box create, clone, snapshot create, rootfs import, serve). A mistyped --home, or a forgotten
 * FORKPOINT_HOME, must not become a new empty home (and a private redis-server) for anything else.
 */
export type HomeUse = 'read' | 'write' | 'create';

/** Something forkpoint wrote is there: its id, its database, its bases or boxes. */
function isHome(dir: string): boolean {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return false;
  return ['home-id', 'db', 'bases', 'boxes'].some((entry) => existsSync(join(dir, entry)));
}

/**
 * A home is made in a new or empty folder only. Made in a folder of other files (a mistyped
 * --home: a project, /etc), its writer would make that folder private to its user and fill it.
 */
function refuseForeignFolder(dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory() || isHome(dir)) return;
  // What a home being made may already hold: its run/ (a lock taken first), a home-id being written.
  const foreign = readdirSync(dir).filter((name) => !HOME_ENTRIES.has(name) && !/^home-id\..+\.tmp$/.test(name));
  if (foreign.length === 0) return;
  throw new ForkpointError(
    ErrorCodes.INVALID_ARGUMENT,
    `${dir} holds other files and no forkpoint home: a home is made in a new or empty folder (check --home or FORKPOINT_HOME)`,
    { path: dir, field: 'home', found: foreign.slice(0, 5) },
  );
}

/** A home this user may not look into is named as such: it read as "no forkpoint home" (or an fs error). */
function refuseUnreadable(dir: string): void {
  const denied = (err: unknown) => (err as NodeJS.ErrnoException).code === 'EACCES';
  const refuse = (owner: number | '?') =>
    new ForkpointError(ErrorCodes.FORBIDDEN, `${dir}: permission denied: this user (uid ${process.getuid?.() ?? '?'}) may not read this home; run forkpoint as its owner (uid ${owner})`, { path: dir });
  let st;
  try {
    st = statSync(dir);
  } catch (err) {
    if (denied(err)) throw refuse('?'); // a folder above it is closed to us
    return; // not there: each use says what that means
  }
  if (!st.isDirectory()) return; // not a folder: each use says so
  try {
    accessSync(dir, constants.R_OK | constants.X_OK);
  } catch (err) {
    if (denied(err)) throw refuse(st.uid);
  }
}

/** The entries of a home (layout.ts; trash/ is recovery's). */
const HOME_ENTRIES: ReadonlySet<string> = new Set(['home-id', 'db', 'bases', 'boxes', 'run', 'import', 'trash']);

/** The home's layout with its canonical path (stored base paths are compared as strings). */
export function openHome(flags: GlobalFlags, use: 'read'): { config: Config; layout: HomeLayout; homeId: string | null };
export function openHome(flags: GlobalFlags, use: 'write' | 'create'): { config: Config; layout: HomeLayout; homeId: string };
export function openHome(flags: GlobalFlags, use: HomeUse): { config: Config; layout: HomeLayout; homeId: string | null };
export function openHome(flags: GlobalFlags, use: HomeUse): { config: Config; layout: HomeLayout; homeId: string | null } {
  // Only the program's global options configure the home. Commands pass optsWithGlobals(), which mixes
  // in their own options: `clone --prefix P` (clone names) once became the *queue* prefix here, so with
  // `serve` running the job went to a queue nobody consumes and the command hung.
  const config = resolveConfig({ home: flags.home, redis: flags.redis });
  refuseUnreadable(config.home);
  if (use === 'create') {
    refuseForeignFolder(config.home);
    makeHomeFolder(config.home, homeModes().dir); // a new home is private; its writer tightens an old one
  } else if (!isHome(config.home)) {
    throw new ForkpointError(
      ErrorCodes.NOT_FOUND,
      `no forkpoint home at ${config.home}: check --home or FORKPOINT_HOME (a home is made by box create, box import, rootfs import or serve)`,
      { path: config.home },
    );
  }
  const layout = homeLayout(realpathSync(config.home));
  const homeId = use === 'read' ? readHomeId(layout.home) : readOrMintHomeId(layout.home);
  return { config: { ...config, home: layout.home }, layout, homeId };
}

async function lockOrWait(layout: HomeLayout, homeId: string, waitMs: number, quiet: boolean): Promise<HomeLock | OwnerInfo> {
  // Loaded here, not at the top: it pulls in better-sqlite3, and `--help` should not pay for that.
  // A serve still recovering has not written its Redis yet: wait for it, as for a busy CLI. One that
  // has exited is a stale owner file while another command holds the home: wait for that command.
  const { isReadyService, ownerNow, waitForHomeLock } = await import('../../runtime/home-lock.js');
  // Said once, so a wait (up to waitMs) is not taken for a hang.
  const onWait = (holder: OwnerInfo | null) => {
    if (!quiet) say(`home ${layout.home} is busy (its owner file names ${holder ? `${holder.kind === 'serve' ? 'forkpoint serve' : 'a forkpoint command'}, pid ${holder.pid}` : 'nobody'}); waiting up to ${Math.round(waitMs / 1000)} s for it`);
  };
  const waited = await waitForHomeLock(layout.runDir, ownerNow('cli', homeId), { waitMs, giveUpIf: isReadyService, onWait });
  if (waited.lock) return waited.lock;
  // Decided on the holder the wait gave up on: reading owner.json again could find it gone already.
  if (isReadyService(waited.holder)) return waited.holder!;
  throw new ForkpointError(ErrorCodes.HOME_LOCKED, `home ${layout.home} is busy with another forkpoint command (pid ${waited.holder?.pid ?? '?'}); try again`, {
    path: layout.home,
  });
}

/**
 * How long a command waits for the home's next owner after its service crashed (its lock free,
 * its owner file left behind: a clean stop removes it), when the service's Redis keeps the job.
 */
const NEXT_OWNER_WAIT_MS = 30_000;

/**
 * How long a command waits on a living service whose Redis does not answer before it gives up
 * (E_REDIS_UNAVAILABLE, exit 3): long enough for a private redis-server's restart by its keeper,
 * short enough that a Redis gone for good does not leave the command waiting for ever (serve goes
 * on reconnecting, and the client's reads of the job wait in ioredis' offline queue).
 */
const REDIS_GONE_WAIT_MS = 5_000;

/** A job a command waits for, as it tells the session (for what to say if its service goes). */
export interface NotedJob {
  id: string;
  queue: string;
  /** Running the same command again joins this job (its op is derived from the request). */
  rejoinable: boolean;
}

/**
 * Wait for `work`, but not for ever: if the service we enqueued to stops, nobody may ever
 * answer our wait. When its Redis keeps the job (a Redis of its own, or the home's private one,
 * which keeps its data in the home), the command follows the job to the home's next owner on
 * that Redis (a supervisor's restart, a `serve` started again after a crash, also when the home
 * passes straight to it, which the lock alone does not show: the owner recorded now is compared
 * with the one we enqueued to), waiting for one for NEXT_OWNER_WAIT_MS after a crash. Otherwise
 * it says which job stays queued and how to follow it, instead of waiting on.
 */
async function whileServiceLives<T>(layout: HomeLayout, service: OwnerInfo, jobs: readonly NotedJob[], work: Promise<T>): Promise<T> {
  const { ownerNow, readCleanStop, readOwner, tryLockHome } = await import('../../runtime/home-lock.js');
  const { pingRedis } = await import('../../runtime/connect-redis.js');
  const { parseRedisUrl } = await import('../../runtime/redis-url.js');
  // An owner file of an older forkpoint says embedded without persistent: that Redis kept nothing.
  const keeps = !service.redisEmbedded || service.redisPersistent === true;
  const sameOwner = (a: Pick<OwnerInfo, 'pid' | 'startedAt'> | null, b: OwnerInfo) => a !== null && a.pid === b.pid && a.startedAt === b.startedAt;
  const why = () => {
    if (!keeps) return 'its private Redis kept nothing, so run the command again';
    const which = jobs.length > 0 ? ` (${jobs.map((j) => `job ${j.id} on queue ${j.queue}`).join(', ')})` : '';
    const follow = jobs.length > 0 && jobs.every((j) => j.rejoinable) ? '; run the same command again to follow it (it joins that job)' : '';
    return `the job stays queued${which} and runs when the home is next served${follow}`;
  };
  let current = service;
  let orphanedSince: number | null = null;
  let timer: NodeJS.Timeout | undefined;
  // The service lives but its Redis may not: nobody would ever answer the wait (serve reconnects for ever).
  let pinging = false;
  let unansweredSince: number | null = null;
  const redisGone = (problem: string) => {
    const home = `--home ${shellWord(layout.home)}`;
    const which = jobs.map((j) => `job ${j.id} (queue ${j.queue})`).join(', ');
    const follow = jobs.map((j) => `\`forkpoint ${home} jobs wait ${j.id}\``).join(', ');
    const again = jobs.every((j) => j.rejoinable) ? '; running the same command again joins it' : '';
    const what =
      jobs.length > 0
        ? `${which} stays in that Redis and goes on if it comes back with its data: follow it with ${follow} once Redis answers${again}`
        : 'the request may or may not have been queued: run the same command again once Redis answers (it joins the job if there is one)';
    return new ForkpointError(
      ErrorCodes.REDIS_UNAVAILABLE,
      `the Redis of forkpoint serve (pid ${current.pid}) at ${current.redisUrl} stopped answering (${problem}) while this command waited; ${what}`,
      { path: layout.home, redis: current.redisUrl, jobs: jobs.map((j) => j.id) },
    );
  };
  const gone = new Promise<never>((_, reject) => {
    const watchRedis = () => {
      if (pinging) return; // a ping still out (Redis stopped, not refusing) is not stacked on
      pinging = true;
      const started = Date.now();
      void pingRedis(parseRedisUrl(current.redisUrl), 1000).then((problem) => {
        pinging = false;
        if (problem === null) return void (unansweredSince = null);
        unansweredSince ??= started;
        if (Date.now() - unansweredSince >= REDIS_GONE_WAIT_MS) reject(redisGone(problem));
      });
    };
    timer = setInterval(() => {
      // Read before probing: a probe that gets the lock writes (and on release removes) the owner file.
      const recorded = readOwner(layout.runDir);
      const stoppedCleanly = sameOwner(readCleanStop(layout.runDir), current);
      const probe = tryLockHome(layout.runDir, ownerNow('cli', ''));
      probe?.release();
      if (!probe && sameOwner(recorded, current)) return watchRedis();
      unansweredSince = null; // the service went: what follows decides (a next owner may bring its Redis back)
      if (keeps) {
        if (!probe && recorded && recorded.redisUrl === current.redisUrl) {
          say(`forkpoint serve (pid ${current.pid}) stopped; the home's next owner (${recorded.kind}, pid ${recorded.pid}) consumes the same Redis and takes the job over`);
          current = recorded;
          orphanedSince = null;
          return;
        }
        // Someone holds the home and has not said which Redis yet (a serve still recovering, or a
        // command in between): wait, with the clock started, so the moment it lets go and before
        // the next owner takes the home is a wait for that owner, not a clean stop.
        if (!probe && recorded?.redisUrl === '') {
          orphanedSince ??= Date.now();
          return;
        }
        // A crash (no clean stop recorded for it: its owner file left behind, or removed by a command
        // that held the home since), or another owner on another Redis: give it a while.
        if (orphanedSince === null && (!probe || !stoppedCleanly)) orphanedSince = Date.now();
        if (orphanedSince !== null && Date.now() - orphanedSince < NEXT_OWNER_WAIT_MS) return;
      }
      reject(new ForkpointError(ErrorCodes.SHUTTING_DOWN, `forkpoint serve (pid ${current.pid}) stopped before finishing; ${why()}`, { path: layout.home }));
    }, 1000);
  });
  try {
    return await Promise.race([work, gone]);
  } finally {
    clearInterval(timer);
  }
}

/** `use`: `write` for commands that need an existing home; `create` (the default) for those that may make it. */
export async function withSession<T>(flags: GlobalFlags, run: (s: Session) => Promise<T>, use: 'write' | 'create' = 'create'): Promise<T> {
  const { config, layout, homeId } = openHome(flags, use);
  const timeoutMs = flags.timeout === undefined ? undefined : flags.timeout * 1000;
  const deadline = Date.now() + (timeoutMs ?? Infinity);
  const held = await lockOrWait(layout, homeId, Math.min(120_000, timeoutMs ?? Infinity), flags.quiet === true);

  if ('kind' in held) {
    const owner = held;
    const { pingRedis } = await import('../../runtime/connect-redis.js');
    const { parseRedisUrl } = await import('../../runtime/redis-url.js');
    // BullMQ (most of a command's start-up) loads while the service's Redis is pinged; one
    // import at a time (see IMPORTS_ONE_AT_A_TIME below).
    const clientLoading = import('../client.js');
    clientLoading.catch(() => undefined);
    const problem = await pingRedis(parseRedisUrl(owner.redisUrl));
    if (problem !== null) {
      const { redisRefusesWrites } = await import('../../runtime/redis-refusal.js');
      const refusal = redisRefusesWrites(new Error(problem), parseRedisUrl(owner.redisUrl).display);
      if (refusal) throw refusal;
      throw new ForkpointError(ErrorCodes.REDIS_UNAVAILABLE, `forkpoint serve (pid ${owner.pid}) owns ${layout.home}, but its Redis at ${owner.redisUrl} does not answer (${problem})`, {
        path: layout.home,
      });
    }
    // The service's queues are under its prefix, whatever this shell's FORKPOINT_PREFIX says.
    const prefix = owner.prefix ?? config.prefix;
    const { Forkpoint } = await clientLoading;
    const client = await Forkpoint.connect({ redisUrl: owner.redisUrl, homeId, prefix, waitTimeoutMs: timeoutMs });
    const jobs: NotedJob[] = [];
    const noteJob = (job: NotedJob) => void jobs.push(job);
    // Ctrl-C stops the wait, not the job: say which job goes on in serve and how to follow or cancel it.
    const onInterrupt = (signal: NodeJS.Signals) => {
      for (const line of interruptedLines(layout, jobs, { pid: owner.pid })) say(line);
      void flushStdio().then(() => process.kill(process.pid, signal)); // ends as the signal would (130 for SIGINT)
    };
    process.once('SIGINT', onInterrupt);
    process.once('SIGTERM', onInterrupt);
    try {
      return await whileServiceLives(layout, owner, jobs, run({ config: { ...config, prefix }, layout, homeId, client, mode: 'service', quiet: flags.quiet === true, noteJob, ...(owner.importDirs ? { importDirs: owner.importDirs } : {}) }));
    } finally {
      process.off('SIGINT', onInterrupt);
      process.off('SIGTERM', onInterrupt);
      await client.close();
    }
  }

  const lock = held;
  // Start-up is every command's fixed cost, so its parts go at once (measured: README, "CLI start-up"). First
  // recovery, the DB writer thread and the file pool (no BullMQ in them: their threads boot on
  // another core while this one parses BullMQ, the largest module graph we load), then the Redis
  // (a private redis-server to start, often; startPipeline waits for it only before its queues),
  // then BullMQ. Both are awaited in `finally` whatever happens, so nothing started for a command
  // that failed meanwhile (a private redis-server above all) outlives it.
  //
  // IMPORTS_ONE_AT_A_TIME: the modules load one after the other, only the work they start overlaps.
  // Node 20 fails at random ("request for 'node:fs' is not in cache", nodejs/node#52187) when
  // dynamic imports of overlapping module graphs are in flight together.
  const partsModule = import('../../workers/pipeline-parts.js');
  const parts = partsModule.then(({ startPipelineParts }) => startPipelineParts({ layout, poolSize: config.poolSize, recoveryReports: false }));
  parts.catch(() => undefined);
  let partsOwned = false;
  const redisModule = partsModule.then(() => import('../../runtime/connect-redis.js'));
  // --quiet keeps a warning an operator must act on (a Redis that may evict jobs), not the notice of a private redis-server.
  const notice: LogLine = (line, level) => {
    if (level === 'warn' || !flags.quiet) say(line);
  };
  const resolving = redisModule.then(({ resolveRedis }) => resolveRedis(config, layout.runDir, notice));
  resolving.catch(() => undefined);
  // A private redis-server that dies under the command is started again on its data, as serve's is:
  // without it, the command's pipeline waited on a Redis nobody would bring back, for ever.
  const keeperModule = redisModule.then(() => import('../../runtime/embedded-redis-keeper.js'));
  const keeping = Promise.all([resolving, keeperModule]).then(([r, { keepEmbeddedRedis }]) => (r.embedded ? keepEmbeddedRedis(r.embedded, layout.runDir, notice) : null));
  keeping.catch(() => undefined);
  // Gone for good (it keeps dying, or cannot start): the command ends, E_REDIS_UNAVAILABLE. Then
  // (as when it refuses writes, below) nothing moves in Redis: the pipeline closes without waiting for jobs.
  let redisGone = false;
  const redisLost = keeping.then((kept) => new Promise<never>((_, reject) => kept?.onLost((err) => ((redisGone = true), reject(err)))));
  redisLost.catch(() => undefined);
  const clientLoading = keeperModule.then(() => import('../client.js'));
  clientLoading.catch(() => undefined);
  const pipelineLoading = clientLoading.then(() => import('../../workers/pipeline.js'));
  pipelineLoading.catch(() => undefined);
  let pipeline: Pipeline | null = null;
  let client: Forkpoint | null = null;
  // SIGINT/SIGTERM sent to this command alone (`timeout`, a cancelled CI job, `kill`) must still
  // stop what it started: the pipeline, and above all a private redis-server, which would
  // otherwise outlive it. Half-done work is finished or undone by the next start's recovery.
  let interruptedBy: NodeJS.Signals | null = null;
  const jobs: NotedJob[] = [];
  let timedOut = false;
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
    const redisUrl = resolving.then((r) => {
      lock.update({ redisUrl: r.url });
      return r.url;
    });
    redisUrl.catch(() => undefined); // startPipeline reports it
    const { startPipeline } = await pipelineLoading;
    partsOwned = true; // the pipeline closes them if it cannot start
    pipeline = await startPipeline({ layout, homeId, redisUrl, parts, prefix: config.prefix, poolSize: config.poolSize, log: say });
    const { Forkpoint } = await clientLoading;
    client = await Forkpoint.connect({ redisUrl: await redisUrl, homeId, prefix: config.prefix, waitTimeoutMs: timeoutMs });
    const started = pipeline;
    const connected = client;
    // The pipeline dying (its DB writer thread) ends the command at once; what it cut off stays
    // queued, and the next owner's recovery and retries finish it.
    const fatal = new Promise<never>((_, reject) => started.onFatal(reject));
    // Its Redis refusing writes (a full disk under its AOF) moves no job: the command ends, saying
    // so, where it waited for ever. serve waits for the space instead (it lasts; a command does not).
    const refused = new Promise<never>((_, reject) => started.events.once('redis-refuses-writes', (err) => ((redisGone = true), reject(err))));
    return await Promise.race([
      fatal,
      interrupted,
      redisLost,
      refused,
      (async () => {
        const result = await run({ config, layout, homeId, client: connected, mode: 'embedded', quiet: flags.quiet === true, noteJob: (job) => void jobs.push(job) });
        // Let the GC cascade this command started finish before the pipeline goes away.
        while ((await connected.pending('gc')) > 0) {
          if (Date.now() > deadline) {
            throw new ForkpointError(ErrorCodes.TIMEOUT, `the GC this command started did not settle within ${flags.timeout} s`, { queue: 'gc', timeoutSeconds: flags.timeout });
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        return result;
      })(),
    ]);
  } catch (err) {
    if (!isForkpointError(err, ErrorCodes.TIMEOUT)) throw err;
    // Nobody else runs this home's jobs: the command stops its pipeline now (below), cutting off what it ran.
    timedOut = true;
    throw new ForkpointError(
      ErrorCodes.TIMEOUT,
      `${err.message.replace(/; it was not cancelled.*$/, '')}; no forkpoint serve owns ${layout.home}, so this command ran it and stops it now: ` +
        'what it began is finished or undone by the next command or serve on the home (`forkpoint check` shows it)',
      err.details,
    );
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
    // Interrupted or out of time (--timeout; also when a job that timed out was only reported, as by
    // `box rm`): do not wait for the job.
    await pipeline?.close(interruptedBy || timedOut || redisGone || Date.now() > deadline ? 0 : undefined);
    // Read after the close, which lets steps under way settle (a batch may even finish): say what is true.
    const ended = interruptedBy && client ? await endedJobs(client, jobs) : undefined;
    await client?.close();
    if (!partsOwned) await parts.then(async (p) => (await import('../../workers/pipeline-parts.js')).closeParts(p), () => undefined);
    const redis: ResolvedRedis | null = await resolving.catch(() => null);
    const kept = await keeping.catch(() => null);
    await (kept ? kept.stop() : redis?.embedded?.stop());
    lock.release();
    if (interruptedBy) {
      say(`interrupted by ${interruptedBy}; stopped the pipeline${redis?.embedded ? ' and its private redis-server' : ''}`);
      for (const line of interruptedLines(layout, jobs, null, ended)) say(line);
      // End as the signal would have (exit status 128 + n), now that everything is cleaned up and said.
      await flushStdio();
      process.kill(process.pid, interruptedBy);
    }
  }
}
