/**
 * A home's pipeline: recovery, the DB writer thread, the Piscina file pool,
 * and one BullMQ worker per queue (ops, gc) whose processors stay thin. The
 * caller holds the home lock; start-up runs recover() before taking jobs and
 * queues a sweep so GC requests lost with a non-persistent Redis are redone.
 */
import { MetricsTime, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { openDatabase } from '../db/open.js';
import { recover, type RecoveryReport } from './recovery/index.js';
import { ErrorCodes, ForkpointError, isForkpointError } from '../errors.js';
import type { HomeLayout } from '../layout.js';
import { isJobName } from '../contract/jobs.js';
import { failedReason } from '../contract/failed-reason.js';
import { GC_JOB_OPTIONS, gcJobId, queueName, queueRoleOf, type QueueRole } from '../contract/queues.js';
import { parseRedisUrl } from '../runtime/redis-url.js';
import { homeModes } from '../runtime/home-mode.js';
import { canonicalImportDirs } from '../file-steps/import-path.js';
import { startDbWriter, type DbWriterClient } from './db-writer-client.js';
import { startFilePool, type FileRunner } from './file-pool.js';
import type { JobContext } from './flows/context.js';
import { runFlow } from './flows/index.js';
import { ActiveWork } from './active-work.js';
import { GcRequests } from './gc-requests.js';
import { KeyedLock } from './keyed-lock.js';
import { liveRepair } from './live-repair.js';

export interface PipelineOptions {
  layout: HomeLayout;
  homeId: string;
  redisUrl: string;
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
  log?: (line: string) => void;
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
}

export interface PipelineEvents {
  'job-finished': [JobFinishedEvent];
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
  /** Stop taking jobs, let active ones finish (bounded by `graceMs`, default the start option), then close pool, writer and DB. */
  close(graceMs?: number): Promise<void>;
}

/** Failure codes that are faults of the machine, not of the request: after them, something may be half-done. */
const FAULTS: ReadonlySet<string> = new Set([ErrorCodes.IO, ErrorCodes.NO_SPACE, ErrorCodes.REDIS_UNAVAILABLE]);

export async function startPipeline(o: PipelineOptions): Promise<Pipeline> {
  const modes = homeModes();
  for (const dir of [o.layout.basesDir, o.layout.boxesDir, o.layout.runDir]) mkdirSync(dir, { recursive: true, mode: dir === o.layout.runDir ? modes.run : modes.dir });
  const recovery = await recover(o.layout.home, { repair: true });
  const writer = await startDbWriter(o.layout.home);
  const reader = openDatabase(o.layout.dbPath, { readonly: true });
  const files: FileRunner = await startFilePool(o.poolSize);
  const connection = { ...parseRedisUrl(o.redisUrl).options, maxRetriesPerRequest: null };
  const gcQueue = new Queue(queueName(o.homeId, 'gc'), { connection, prefix: o.prefix });
  // Unlistened 'error' events end the process; Redis hiccups are logged and ioredis reconnects.
  gcQueue.on('error', (err) => o.log?.(`gc queue error: ${err.message}`));
  const fsync = o.fsync ?? true;
  const importDirs = o.importDirs ? canonicalImportDirs(o.importDirs) : undefined;

  const gcRequests = new GcRequests();
  const requestGc = async (baseIds: string[]) => {
    const now = gcRequests.request(baseIds);
    if (now.length === 0) return;
    await gcQueue.addBulk(now.map((baseId) => ({ name: 'gc', data: { baseId }, opts: { ...GC_JOB_OPTIONS, jobId: gcJobId(baseId) } })));
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
    parallelism: o.poolSize * 2,
    fsync,
    boxLock,
    ...(importDirs ? { importDirs } : {}),
  };
  const processorFor = (queue: QueueRole) => async (job: Job) => {
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
    };
    const started = performance.now();
    active.start(key, job.name, job.data);
    if (job.name === 'gc') gcRequests.started((job.data as { baseId: string }).baseId);
    const finished = (ok: boolean, extra: Partial<JobFinishedEvent>) =>
      events.emit('job-finished', { queue, name: job.name, jobId: job.id ?? '', ok, durationMs: performance.now() - started, ...extra });
    try {
      const result = await runFlow(ctx, job.name, job.data);
      finished(true, { result });
      return result;
    } catch (err) {
      finished(false, { error: { code: isForkpointError(err) ? err.code : 'E_IO', message: (err as Error).message } });
      if (isForkpointError(err) && !err.retryable) {
        throw new UnrecoverableError(failedReason(err));
      }
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
  const opsWorker = new Worker(queueName(o.homeId, 'ops'), processorFor('ops'), { ...workerOptions, concurrency: o.opsConcurrency ?? 8 });
  const gcWorker = new Worker(queueName(o.homeId, 'gc'), processorFor('gc'), { ...workerOptions, concurrency: o.gcConcurrency ?? 4 });
  for (const w of [opsWorker, gcWorker]) w.on('error', (err) => o.log?.(`queue worker error: ${err.message}`));
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

  let closing: Promise<void> | null = null;
  return {
    recovery,
    ...(importDirs ? { importDirs } : {}),
    writer,
    events,
    active,
    // The writer's failure is sticky, so an owner that subscribes late still hears of it.
    onFatal: (listener) => writer.onFailure(listener),
    repair: () => repairs.repair(),
    close(graceMs) {
      closing ??= (async () => {
        const grace = graceMs ?? o.shutdownGraceMs ?? 30_000;
        await repairs.settled();
        const stopWorkers = Promise.all([opsWorker.close(), gcWorker.close()]);
        const timedOut = await Promise.race([stopWorkers.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), grace).unref())]);
        // Past the grace period, active jobs are abandoned to the stalled-job checker of the next start.
        if (timedOut) await Promise.all([opsWorker.close(true), gcWorker.close(true)]);
        await gcQueue.close();
        await files.close();
        await writer.close();
        reader.close();
      })();
      return closing;
    },
  };
}

export { ForkpointError };
