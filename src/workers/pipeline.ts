/**
 * A home's pipeline: recovery, the DB writer thread, the Piscina file pool,
 * and one BullMQ worker per queue (ops, gc) whose processors stay thin. The
 * caller holds the home lock; start-up runs recover() before taking jobs and
 * queues a sweep so GC requests lost with a non-persistent Redis are redone.
 */
import { MetricsTime, Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { EventEmitter } from 'node:events';
import { openDatabase } from '../db/open.js';
import type { RecoveryReport } from './recovery/index.js';
import { ErrorCodes, ForkpointError, isForkpointError } from '../errors.js';
import type { HomeLayout } from '../layout.js';
import { isJobName } from '../contract/jobs.js';
import { failedReason } from '../contract/failed-reason.js';
import { compactJobId, GC_HISTORY_JOB_OPTIONS, GC_JOB_OPTIONS, gcJobId, gcRunJobId, queueName, queueRoleOf, type QueueRole } from '../contract/queues.js';
import { bullConnection, checkRedisTarget } from '../runtime/redis-connection.js';
import type { LogLine } from '../runtime/log-line.js';
import { canonicalImportDirs } from '../file-steps/import-path.js';
import type { DbWriterClient } from './db-writer-client.js';
import { closeParts, startPipelineParts, type PipelineParts } from './pipeline-parts.js';
import type { JobContext } from './flows/context.js';
import { runFlow } from './flows/index.js';
import { ActiveWork } from './active-work.js';
import { GcRequests } from './gc-requests.js';
import { KeyedLock } from './keyed-lock.js';
import { liveRepair } from './live-repair.js';
import { cancelKey } from '../contract/cancel.js';
import { retentionDefaults, retryUnderDefaults } from './service-defaults.js';
import { requeueOrphans } from './requeue-orphans.js';
import { redisRefusesWrites } from '../runtime/redis-refusal.js';
import { pingRedis } from '../runtime/connect-redis.js';
import { parseRedisUrl } from '../runtime/redis-url.js';
import { waitForRedisClose, type RedisCloseOutcome } from './redis-close-bound.js';

/** Once our jobs are over (or given up on, Redis gone), how long the BullMQ side may take to close before its connections are dropped. */
export const REDIS_CLOSE_BOUND_MS = 5_000;

export interface PipelineOptions {
  layout: HomeLayout;
  homeId: string;
  /** Or its promise: a Redis still starting (a CLI's private one) while the rest of start-up goes on. */
  redisUrl: string | Promise<string>;
  /** Recovery, writer and pool already starting (startPipelineParts, begun before BullMQ was loaded); owned by the pipeline from here on. */
  parts?: Promise<PipelineParts>;
  prefix: string;
  poolSize: number;
  /** fsync files and folders (default true; benchmarks may turn it off to find the floor). */
  fsync?: boolean;
  opsConcurrency?: number;
  gcConcurrency?: number;
  sweepEveryMs?: number;
  /** Files that payloads name are read only from these folders (invariant 7); unset: with the process's own rights. */
  importDirs?: string[];
  /** How long close() lets active jobs finish before handing them back. */
  shutdownGraceMs?: number;
  log?: LogLine;
}

/** What the pipeline tells observers (metrics, logs, live pages) after each job. */
export interface JobFinishedEvent {
  queue: 'ops' | 'gc';
  name: string;
  jobId: string;
  ok: boolean;
  durationMs: number;
  result?: unknown;
  error?: { code: string; message: string };
  /** How long the job waited in its queue before this attempt started (past any delay or backoff), for metrics. */
  waitMs?: number;
  /** The job's payload as it was queued (metrics size a clone by its targets). */
  data?: unknown;
}

export interface PipelineEvents {
  'job-finished': [JobFinishedEvent];
  /** Its Redis refuses writes (it cannot save: a full disk): no job moves until it can. Each time a worker hears it. */
  'redis-refuses-writes': [ForkpointError];
}

export interface Pipeline {
  recovery: RecoveryReport;
  /** The import folders its jobs confine payload files to (canonical), if any. */
  importDirs?: readonly string[];
  writer: DbWriterClient;
  /** Emits 'job-finished' for every job this pipeline ran. */
  events: EventEmitter<PipelineEvents>;
  /** What the jobs running right now work on (a live check marks those items as in flight). */
  active: ActiveWork;
  /**
   * Called once if the pipeline cannot go on (its DB writer thread died), at
   * once if that already happened: whoever owns it must close it and exit, so
   * the next start's recovery finishes what was cut off.
   */
  onFatal(listener: (err: Error) => void): void;
  /** Recovery now, through this pipeline, with its workers paused meanwhile (see live-repair.ts). */
  repair(): Promise<RecoveryReport>;
  /**
   * Stop taking jobs, let active ones finish (bounded by `graceMs`, default the start option), then close pool, writer and DB.
   * With Redis gone it still returns (redis-close-bound.ts).
   */
  close(graceMs?: number): Promise<void>;
  /** close(), and how it went: `closed` false when Redis did not let it close the ordinary way, with the jobs cut off named. */
  closeOutcome(graceMs?: number): Promise<RedisCloseOutcome>;
}

/** How often the same queue worker error is logged again. */
const WORKER_ERROR_REPEAT_MS = 10_000;

/** Failure codes that are faults of the machine, not of the request: after them, something may be half-done. */
const FAULTS: ReadonlySet<string> = new Set([ErrorCodes.IO, ErrorCodes.NO_SPACE, ErrorCodes.REDIS_UNAVAILABLE]);

export async function startPipeline(o: PipelineOptions): Promise<Pipeline> {
  // Before anything opens, so a refusal leaves nothing to close (a URL still to come is a private Redis, never a cluster).
  if (typeof o.redisUrl === 'string') checkRedisTarget(o.redisUrl, o.prefix);
  // Redis may still be starting meanwhile (o.redisUrl a promise): needed only from the queues on.
  const [parts, url] = await Promise.allSettled([o.parts ?? startPipelineParts(o), Promise.resolve(o.redisUrl)]);
  if (parts.status === 'rejected') throw parts.reason;
  const { recovery, writer, files } = parts.value;
  if (url.status === 'rejected') {
    await closeParts(parts.value);
    throw url.reason;
  }
  const redisUrl = url.value;
  const reader = openDatabase(o.layout.dbPath, { readonly: true });
  // One shared client on a Redis Cluster (closed last, below), plain options otherwise: runtime/redis-connection.ts.
  const redis = bullConnection(redisUrl, o.prefix);
  const connection = redis.connection;
  const gcQueue = new Queue(queueName(o.homeId, 'gc'), { connection, prefix: o.prefix });
  // Unlistened 'error' events end the process; Redis hiccups are logged and ioredis reconnects.
  gcQueue.on('error', (err) => o.log?.(`gc queue error: ${err.message}`, 'error'));
  const fsync = o.fsync ?? true;
  const importDirs = o.importDirs ? canonicalImportDirs(o.importDirs) : undefined;

  const gcRequests = new GcRequests();
  const requestGc = async (baseIds: string[]) => {
    const now = gcRequests.request(baseIds);
    if (now.length === 0) return;
    // Kept when they end (the dashboard's GC history): own ids, collapsing by deduplication id (contract/queues.ts).
    await gcQueue.addBulk(
      now.map((baseId) => ({ name: 'gc', data: { baseId }, opts: { ...GC_HISTORY_JOB_OPTIONS, jobId: gcRunJobId(baseId), deduplication: { id: gcJobId(baseId) } } })),
    );
  };

  // Compaction runs beside GC on the gc queue: never behind a batch of clones, never inside one.
  const requestCompact = async (baseIds: string[]) => {
    await gcQueue.addBulk(baseIds.map((baseId) => ({ name: 'compact', data: { baseId }, opts: { ...GC_JOB_OPTIONS, jobId: compactJobId(baseId) } })));
  };

  const events = new EventEmitter<PipelineEvents>();
  const boxLock = new KeyedLock();
  const active = new ActiveWork();
  /** The processor of one queue's worker: it knows its own queue, never guesses it from a name. */
  /** What every flow run by this pipeline works with; each job adds its progress and live-check note. */
  const ports = {
    layout: o.layout,
    writer,
    files,
    reader,
    requestGc,
    requestCompact,
    parallelism: o.poolSize * 2,
    fsync,
    boxLock,
    ...(importDirs ? { importDirs } : {}),
  };
  /** Set by close() once the grace is over: running jobs stop at their next safe point (flows/cancel.ts). */
  let stopping = false;
  const processorFor = (queue: QueueRole) => async (job: Job, token?: string) => {
    if (!isJobName(job.name)) throw new UnrecoverableError(`E_BAD_PAYLOAD: unknown job name "${job.name}"`);
    // Refused before any bookkeeping: a gc job run from the ops queue would mark its base's GC as
    // started, and only the gc worker ever marks it finished (every later request held forever).
    const belongs = queueRoleOf(job.name);
    if (belongs !== queue) {
      throw new UnrecoverableError(`E_BAD_PAYLOAD: a ${job.name} job belongs on queue ${queueName(o.homeId, belongs)}, not ${job.queueName}`);
    }
    const key = `${queue}:${job.id ?? ''}`;
    const ctx: JobContext = {
      ...ports,
      // Progress is for watchers: a Redis hiccup while reporting it must not fail work that is done.
      progress: (p) => job.updateProgress(p).catch((err: Error) => o.log?.(`job ${job.id}: progress not recorded: ${err.message}`)),
      workingOn: (work) => active.note(key, work),
      // A Redis key, not an in-process signal: the canceller is another process (contract/cancel.ts).
      // Unreadable (a Redis hiccup) is "not asked": the next check, between the next chunks, reads it again.
      cancelRequested: () =>
        gcQueue.getBackend().client.then((c) => c.get(cancelKey(o.prefix, job.queueName, job.id ?? ''))).then((v) => v !== null, () => false),
      closing: () => stopping,
    };
    const started = performance.now();
    // Queue wait: from when the job became ready to run (added, or its delay over) to this attempt's start.
    const waitMs = Math.max(0, (job.processedOn ?? Date.now()) - job.timestamp - (job.delay ?? 0));
    active.start(key, job.name, job.data);
    if (job.name === 'gc') gcRequests.started((job.data as { baseId: string }).baseId);
    const finished = (ok: boolean, extra: Partial<JobFinishedEvent>) =>
      events.emit('job-finished', { queue, name: job.name, jobId: job.id ?? '', ok, durationMs: performance.now() - started, waitMs, data: job.data, ...extra });
    try {
      const result = await runFlow(ctx, job.name, job.data);
      finished(true, { result });
      return result;
    } catch (err) {
      // Stopped at a safe point because this pipeline closes: not a failure, and no attempt spent.
      // Back to wait at once (WaitingError tells BullMQ it was moved), so the home's next owner
      // resumes it without waiting out a lock as for a stalled job. If the move fails, it is retried.
      if (stopping && isForkpointError(err, ErrorCodes.SHUTTING_DOWN) && token !== undefined && (await job.moveToWait(token).then(() => true, () => false))) {
        o.log?.(`job ${job.id}: stopped at a safe point as the pipeline closes; back in its queue for the home's next owner`);
        throw new WaitingError();
      }
      finished(false, { error: { code: isForkpointError(err) ? err.code : 'E_IO', message: (err as Error).message } });
      // Honoured: the same op asked again later is a new run, which an old request must not stop.
      if (isForkpointError(err, ErrorCodes.CANCELLED)) await gcQueue.getBackend().client.then((c) => c.del(cancelKey(o.prefix, job.queueName, job.id ?? ''))).catch(() => undefined);
      if (isForkpointError(err) && !err.retryable) {
        throw new UnrecoverableError(failedReason(err));
      }
      // A job added without attempts (a plain BullMQ producer) is retried as if it had the service's.
      const delayed = await retryUnderDefaults(job, token, queue);
      if (delayed) throw delayed;
      // Retried, but the reason BullMQ stores must still carry the code: after the last attempt it
      // is what the client turns back into a ForkpointError.
      if (isForkpointError(err)) throw new Error(failedReason(err), { cause: err });
      throw err;
    } finally {
      active.finish(key);
    }
  };

  const workerOptions = {
    connection,
    prefix: o.prefix,
    // A job cut off by kill -9 is handed back quickly; the op journal makes the rerun safe.
    lockDuration: 10_000,
    stalledInterval: 5_000,
    maxStalledCount: 2,
    metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
  };
  // Retention for jobs added without their own (see service-defaults.ts).
  // Our processors in flight, so close() can tell "jobs over" from "BullMQ waiting on a Redis that is gone".
  const running = new Map<string, Promise<unknown>>();
  const tracked = (queue: QueueRole) => {
    const run = processorFor(queue);
    return (job: Job, token?: string) => {
      const key = `${queue}:${job.id ?? ''}`;
      const p = run(job, token);
      running.set(key, p);
      p.then(() => running.delete(key), () => running.delete(key));
      return p;
    };
  };
  // Before the workers: what is active now was the last owner's (requeue-orphans.ts).
  const opsQueue = new Queue(queueName(o.homeId, 'ops'), { connection, prefix: o.prefix });
  opsQueue.on('error', () => undefined); // closed right after; a failure shows in the await below
  try {
    for (const job of await requeueOrphans([opsQueue, gcQueue])) {
      o.log?.(`job ${job.id} (${job.name}) on queue ${job.queue} was running when the home's last owner stopped without handing it back; back in its queue now`);
    }
  } finally {
    await opsQueue.close();
  }
  const opsWorker = new Worker(queueName(o.homeId, 'ops'), tracked('ops'), { ...workerOptions, ...retentionDefaults('ops'), concurrency: o.opsConcurrency ?? 8 });
  const gcWorker = new Worker(queueName(o.homeId, 'gc'), tracked('gc'), { ...workerOptions, ...retentionDefaults('gc'), concurrency: o.gcConcurrency ?? 4 });
  // A worker retries what failed at once, so one cause repeats many times a second: said once a while.
  const said = new Map<string, number>();
  const workerError = (err: Error) => {
    const refusal = redisRefusesWrites(err, parseRedisUrl(redisUrl).display);
    if (refusal) events.emit('redis-refuses-writes', refusal);
    const line = `queue worker error: ${refusal?.message ?? err.message}`;
    if (Date.now() - (said.get(line) ?? 0) < WORKER_ERROR_REPEAT_MS) return;
    said.set(line, Date.now());
    o.log?.(line, 'error');
  };
  for (const w of [opsWorker, gcWorker]) w.on('error', workerError);
  // Only now is the job gone from Redis, so a request held while it ran can be enqueued again.
  const gcOver = (job: Job | undefined) => {
    if (job?.name !== 'gc' || !gcRequests.finished((job.data as { baseId: string }).baseId)) return;
    requestGc([(job.data as { baseId: string }).baseId]).catch((err: Error) => o.log?.(`gc request failed: ${err.message}`));
  };
  gcWorker.on('completed', gcOver);
  gcWorker.on('failed', gcOver);
  const repairs = liveRepair({ flows: { ...ports, progress: () => undefined }, db: reader, workers: [opsWorker, gcWorker], ...(o.log ? { log: o.log } : {}) });
  // A job that failed for good on a fault (a full disk, an I/O error) may have left its operation
  // half-done: settle it now, not at the next start. Refused input changed nothing.
  opsWorker.on('failed', (job, err) => {
    const over = err.name === 'UnrecoverableError' || (job !== undefined && job.attemptsMade >= (job.opts.attempts ?? 1));
    const code = /^(E_[A-Z_]+):/.exec(err.message)?.[1];
    if (over && (code === undefined || FAULTS.has(code))) repairs.afterFailure();
  });
  await Promise.all([opsWorker.waitUntilReady(), gcWorker.waitUntilReady()]);
  await gcQueue.upsertJobScheduler('sweep', { every: o.sweepEveryMs ?? 10 * 60_000 }, { name: 'sweep', data: {}, opts: GC_JOB_OPTIONS });
  await gcQueue.add('sweep', {}, { ...GC_JOB_OPTIONS, jobId: 'sweep-startup' });

  let closing: Promise<RedisCloseOutcome> | null = null;
  const pipeline: Pipeline = {
    recovery,
    ...(importDirs ? { importDirs } : {}),
    writer,
    events,
    active,
    // The writer's failure is sticky, so an owner that subscribes late still hears of it.
    onFatal: (listener) => writer.onFailure(listener),
    repair: () => repairs.repair(),
    close(graceMs) {
      return pipeline.closeOutcome(graceMs).then(() => undefined);
    },
    closeOutcome(graceMs) {
      closing ??= (async () => {
        const grace = graceMs ?? o.shutdownGraceMs ?? 30_000;
        // Past the grace period (at once for 0: a Ctrl-C'd command), running jobs stop at their next
        // safe point and go back to their queue whole (above). Force-closing the workers does not do
        // that: BullMQ's close(true) only stops waiting for a processor (and, after a close(), returns
        // that same close), so a clone batch ran on to its end while the command "stopped".
        // A job inside one long step (a fork, a flatten) still finishes that step first.
        if (grace === 0) stopping = true;
        const stopJobs = setTimeout(() => (stopping = true), grace);
        stopJobs.unref();
        const target = parseRedisUrl(redisUrl);
        const outcome = await waitForRedisClose({
          closing: (async () => {
            await repairs.settled();
            await Promise.all([opsWorker.close(), gcWorker.close()]);
            await gcQueue.close();
            await redis.close();
          })(),
          running: () => running,
          graceMs: grace,
          boundMs: REDIS_CLOSE_BOUND_MS,
          reachable: async () => (await pingRedis(target, 1000)) === null,
          confirmClosed: true,
        });
        clearTimeout(stopJobs);
        if (!outcome.closed) {
          stopping = true; // a job that gets its answer yet stops at its next safe point
          // Not quit(): it waits for a Redis that does not answer. The jobs cut off stay in Redis as they were.
          for (const q of [opsWorker, gcWorker, gcQueue]) {
            const backend = q.getBackend();
            void backend.disconnectBlocking(false).catch(() => undefined);
            void backend.connection.disconnect(false).catch(() => undefined);
          }
          redis.disconnect(); // the shared Cluster client (if any): its QUIT in redis.close() above waits too
          o.log?.(
            `closing without ${outcome.redisReachable ? 'a clean close of the Redis connections' : `Redis (${target.display} does not answer)`}: ` +
              (outcome.cutOff.length > 0 ? `jobs cut off, still active in Redis and handed back when it answers again: ${outcome.cutOff.join(', ')}` : 'no job was running') +
              '; queued jobs stay in Redis (nothing is lost if it comes back with its data)',
            // Redis answering again, nothing cut off: only BullMQ's own teardown was stuck (redis-close-bound.ts).
            outcome.redisReachable && outcome.cutOff.length === 0 ? 'warn' : 'error',
          );
        }
        await files.close();
        await writer.close();
        reader.close();
        return outcome;
      })();
      return closing;
    },
  };
  return pipeline;
}

export { ForkpointError };
