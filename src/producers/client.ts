/**
 * The typed producer API: `Forkpoint.connect({ redisUrl, homeId })` and one
 * method per job, each returning a JobHandle to await and to observe.
 * Payloads are validated here too, so a caller's mistake is reported before
 * anything is queued.
 */
import { Queue, QueueEvents, type ConnectionOptions, type Job } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';
import { ErrorCodes, ForkpointError, isForkpointError } from '../errors.js';
import { errorFromFailedReason } from '../contract/failed-reason.js';
import { bullConnection, type BullConnection } from '../runtime/redis-connection.js';
import { redisUnavailableFrom } from '../runtime/redis-refusal.js';
import { pingRedis } from '../runtime/connect-redis.js';
import { parseRedisUrl } from '../runtime/redis-url.js';
import { waitForRedisClose } from '../workers/redis-close-bound.js';
import { CANCEL_REQUEST_TTL_SECONDS, cancelKey } from '../contract/cancel.js';
import { cloneTargets } from '../contract/clone-targets.js';
import { parseJobPayload, type JobInput, type JobName } from '../contract/jobs.js';
import type { BoxRemoval } from '../workers/flows/box.js';
import { GC_HISTORY_KEPT, GC_JOB_OPTIONS, OPS_JOB_OPTIONS, SWEEP_JOB_ID, gcJobId, opJobId, queueName, queueRoleOf, type QueueRole } from '../contract/queues.js';

export interface ConnectOptions {
  redisUrl: string;
  homeId: string;
  prefix: string;
  /**
   * How often a waiting handle reads its job back from Redis (ms, default 1000), besides listening
   * to the queue's events: an event can be missed (a job that ends before QueueEvents' first read),
   * the stored state cannot.
   */
  pollMs?: number;
  /** Give up waiting on a result after this long (ms): result() rejects with E_TIMEOUT naming the job, which goes on. */
  waitTimeoutMs?: number;
  /**
   * While Redis does not answer, calls fail at once with E_REDIS_UNAVAILABLE instead of waiting
   * for it to come back, and so does a result() being waited for (its job goes on): for a service
   * answering requests (the HTTP API answers 503, it does not hang). A single Redis only: on a
   * Cluster calls wait for it as without this.
   */
  failFast?: boolean;
}

/**
 * How long a fail-fast client waits for Redis to answer one command: far past any command of
 * ours on a Redis that works (adding a 10,000-box job takes milliseconds), short enough that a
 * request answers 503 before its caller gives up (the readiness probe allows 1.5 s).
 */
const FAIL_FAST_COMMAND_TIMEOUT_MS = 3000;

export interface JobProgress {
  done: number;
  total: number;
  /** What the job is doing now ("forking", "writing children"), for people watching; absent from older jobs. */
  phase?: string;
}

/** A job as the HTTP API reports it (`GET /api/jobs/:queue/:id`). */
export interface JobState {
  id: string;
  name: string;
  queue: QueueRole;
  /** BullMQ's state: waiting, active, delayed, prioritized, completed, failed, unknown… */
  state: string;
  progress: unknown;
  data: unknown;
  result: unknown;
  failedReason: string | null;
  attemptsMade: number;
}

/** A progress event as QueueEvents delivers it, with its stream id (when it was published). */
interface ProgressEvent {
  jobId: string;
  data: unknown;
  eventId: string | undefined;
}

/** What happens to jobs of one queue, as QueueEvents tells it. */
export type QueueEvent =
  | { type: 'progress'; jobId: string; data: unknown }
  | { type: 'completed'; jobId: string; result: unknown }
  | { type: 'failed'; jobId: string; failedReason: string };

export interface JobHandle<T> {
  id: string;
  name: JobName;
  /**
   * Resolves with the job's result; rejects with a ForkpointError rebuilt from the job's failure,
   * E_JOB_LOST when the job vanished from Redis before it ended (a gc or sweep job that vanished
   * resolves, with no result: those are removed as they end), or E_TIMEOUT past `waitTimeoutMs`.
   */
  result(): Promise<T>;
  /**
   * `atMs`: when Redis recorded the update (its event id's time), not when it arrived here: events
   * arrive in batches, so arrival times would make rates of nothing or of infinity.
   */
  onProgress(listener: (p: JobProgress, atMs: number) => void): () => void;
}

const newOp = (): string => randomUUID().replaceAll('-', '');

/**
 * How long close() waits for its Redis connections to close the ordinary way (QUIT). With Redis
 * answering that takes milliseconds; with Redis gone it never ends (QueueEvents waits for an 'end'
 * that ioredis does not emit between reconnect attempts, taskforcesh/bullmq#4656; a QUIT waits in
 * the offline queue), so past this the connections are dropped instead.
 */
export const CLIENT_CLOSE_BOUND_MS = 2_000;

/** What `cancel()` found and did (see there). */
export interface CancelOutcome {
  id: string;
  name: string;
  queue: QueueRole;
  outcome: 'removed' | 'cancelling' | 'finished';
  /** The job's BullMQ state when the outcome was decided. */
  state: string;
}

export type CloneTargets = string[] | { targets: string[] } | { count: number; prefix?: string };

export class Forkpoint {
  /** The last connection error Redis reported (for diagnostics; jobs report their own failures). */
  lastError: Error | null = null;

  /** The timers of handles still waiting (cleared by close()). */
  private readonly polls = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly queues: Record<QueueRole, Queue>,
    private readonly events: Record<QueueRole, QueueEvents>,
    private readonly waitOptions: Pick<ConnectOptions, 'pollMs' | 'waitTimeoutMs' | 'failFast'> = {},
    private readonly connection: Pick<BullConnection, 'close' | 'disconnect'>,
    private readonly redisUrl: string,
  ) {}

  static async connect(o: ConnectOptions): Promise<Forkpoint> {
    // One shared client on a Redis Cluster (closed by close()), plain options otherwise: runtime/redis-connection.ts.
    const redis = bullConnection(o.redisUrl, o.prefix);
    const connection = redis.connection;
    // The queues only: a QueueEvents reads with a blocking command that must wait out a reconnect.
    // Not held while the connection is down, and not waited on for ever while it is up but nothing
    // answers (a Redis stopped or stuck keeps its socket open).
    const queueConnection =
      o.failFast && !redis.cluster ? ({ ...(connection as object), enableOfflineQueue: false, commandTimeout: FAIL_FAST_COMMAND_TIMEOUT_MS } as ConnectionOptions) : connection;
    const make = (role: QueueRole) => new Queue(queueName(o.homeId, role), { connection: queueConnection, prefix: o.prefix });
    const queues = { ops: make('ops'), gc: make('gc') };
    // QueueEvents reads from '$' by default, and is "ready" before its first read: an event in
    // between (a job's first progress, or its end) would never arrive (bullmq#2874). Reading from
    // the stream's last entry as it is now, nothing after it can be missed, however late that read.
    const listen = async (role: QueueRole) => {
      const queue = queues[role];
      await queue.waitUntilReady();
      const redis = (await queue.getBackend().client) as unknown as { xrevrange(key: string, end: '+', start: '-', count: 'COUNT', n: 1): Promise<[string, string[]][]> };
      const [last] = await redis.xrevrange(queue.keys.events!, '+', '-', 'COUNT', 1);
      return new QueueEvents(queueName(o.homeId, role), { connection, prefix: o.prefix, lastEventId: last?.[0] ?? '0-0' });
    };
    const [opsEvents, gcEvents] = await Promise.all([listen('ops'), listen('gc')]);
    const client = new Forkpoint(queues, { ops: opsEvents, gc: gcEvents }, { pollMs: o.pollMs, waitTimeoutMs: o.waitTimeoutMs, failFast: o.failFast }, redis, o.redisUrl);
    // An 'error' event with no listener throws and ends the process (a Redis hiccup, a connection
    // closing under a pending command). ioredis reconnects by itself and callers see failures
    // through their jobs' results, so the event is only recorded.
    const recordError = (err: Error) => void (client.lastError = err);
    for (const queue of Object.values(client.queues)) queue.on('error', recordError);
    for (const events of Object.values(client.events)) events.on('error', recordError);
    // Every awaited handle listens on its queue and events; hundreds in flight are normal here.
    for (const emitter of [...Object.values(client.queues), ...Object.values(client.events)]) emitter.setMaxListeners(0);
    await Promise.all([...Object.values(client.queues), ...Object.values(client.events)].map((x) => x.waitUntilReady()));
    return client;
  }

  /** Always returns: with Redis gone, after CLIENT_CLOSE_BOUND_MS its connections are dropped (lastError says so). */
  async close(): Promise<void> {
    for (const timer of this.polls) clearInterval(timer);
    this.polls.clear();
    const all = [...Object.values(this.events), ...Object.values(this.queues)];
    const outcome = await waitForRedisClose({
      closing: (async () => {
        await Promise.all(all.map((x) => x.close()));
        await this.connection.close();
      })(),
      running: () => new Map(), // a client runs no jobs: only the bound applies
      graceMs: 0,
      boundMs: CLIENT_CLOSE_BOUND_MS,
      // Asked only when the close did not finish, for what lastError says.
      reachable: async () => (await pingRedis(parseRedisUrl(this.redisUrl), 500)) === null,
    });
    if (outcome.closed) return;
    // Not quit(): it waits for a Redis that does not answer. Dropping a connection also stops its
    // reconnect timer, so nothing of this client keeps the process alive or dials Redis again.
    for (const x of all) {
      const backend = x.getBackend();
      void backend.disconnectBlocking(false).catch(() => undefined);
      void backend.connection.disconnect(false).catch(() => undefined);
    }
    this.connection.disconnect();
    this.lastError = new ForkpointError(
      ErrorCodes.REDIS_UNAVAILABLE,
      `closed without a clean close of the Redis connections: ${outcome.redisReachable ? 'they did not close' : 'Redis did not answer'} within ${CLIENT_CLOSE_BOUND_MS} ms, so they were dropped`,
      { field: 'redis' },
    );
  }

  /** Enqueue any job by name; the typed methods below are shorthands. */
  async enqueue<N extends JobName, T = unknown>(name: N, input: JobInput<N>): Promise<JobHandle<T>> {
    const payload = parseJobPayload(name, input) as Record<string, unknown>;
    const role = queueRoleOf(name);
    // Every job has an id (repeats collapse): its op, its base for gc, one id for manual sweeps.
    const jobId = name === 'gc' ? gcJobId(String(payload.baseId)) : name === 'sweep' ? SWEEP_JOB_ID : opJobId(name, String(payload.op));
    // Listen before adding: a job removed as soon as it completes (gc, sweep) could otherwise finish
    // before anyone waits for it, and BullMQ's waitUntilFinished then fails on the missing key.
    const finish = this.finishOf<T>(role, jobId, typeof payload.op === 'string' ? payload.op : null);
    try {
      await this.queues[role].add(name, payload, { ...(role === 'gc' ? GC_JOB_OPTIONS : OPS_JOB_OPTIONS), jobId });
      // Same id: BullMQ keeps the job already stored under it (add() only echoes our data), so
      // read the stored one back, once, for both checks below.
      const stored = await this.queues[role].getJob(jobId);
      // Joining the first job is the point for a retried request, but only for the same request:
      // another payload under a reused op would get the first one's result.
      if (stored && name !== 'gc' && canonicalJson(stored.data) !== canonicalJson(payload)) {
        throw new ForkpointError(ErrorCodes.CONFLICT, `op ${String(payload.op)} was already used for another ${name} request; use a new op`, {
          field: 'op',
          op: String(payload.op),
        });
      }
      // A job already gone ran after we began listening (add() made it if it was absent), so its
      // 'completed' or 'failed' event is on its way: wait for it (settling now as a success would
      // misreport a job that failed and was removed, as gc jobs are; should the event be missed, the
      // poll that result() starts settles it). A job joined by id that finished before we listened is read from its
      // stored state.
      // A job joined by id that failed is run again: asking again under the same op is how a
      // request is retried once its cause is gone (a full disk freed, say); the flows resume it.
      if (stored?.finishedOn && name !== 'gc' && (await stored.isFailed())) await stored.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      else if (stored?.finishedOn) finish.settle(stored.returnvalue, (await stored.isFailed()) ? (stored.failedReason ?? 'unknown failure') : null);
    } catch (err) {
      finish.dispose();
      throw err;
    }
    // The poll starts when someone waits (result()), so after the retry above: a failed job joined
    // there is being run again and must not be read as failed. A handle nobody waits on reads nothing.
    return this.handle<T>(jobId, role, name, finish);
  }

  /**
   * The end of job `jobId`, from the queue's events (registered before the job is added), or,
   * for a job that had already ended, from its stored state (`settle`), and from its stored state
   * read again every `pollMs` once `poll()` is called (by result()): an event can be missed (one
   * published before QueueEvents' first read is never delivered), and a job can vanish (Redis
   * restarted empty or evicted it, someone removed it), which no event tells.
   */
  private finishOf<T>(role: QueueRole, jobId: string, op: string | null) {
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => undefined); // a handle nobody awaits must not become an unhandled rejection
    const events = this.events[role];
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    // Progress seen before anyone asks for it (onProgress comes once enqueue has returned, and a
    // job's first update may already have arrived): handed to the first onProgress listener.
    const progressSoFar: ProgressEvent[] = [];
    const onProgress = ({ jobId: id, data }: { jobId: string; data: unknown }, eventId?: string) => {
      if (id === jobId) progressSoFar.push({ jobId: id, data, eventId });
    };
    const dispose = () => {
      settled = true;
      events.off('completed', onCompleted);
      events.off('failed', onFailed);
      events.off('progress', onProgress);
      if (timer) {
        clearInterval(timer);
        this.polls.delete(timer);
      }
    };
    /** Settle once, with a result or a failed reason. */
    const settle = (result: unknown, failedReason: string | null) => {
      if (settled) return;
      dispose();
      if (failedReason === null) resolve(result as T);
      else reject(errorFromFailedReason(failedReason));
    };
    const onCompleted = ({ jobId: id, returnvalue }: { jobId: string; returnvalue: unknown }) => {
      if (id === jobId) settle(returnvalue, null);
    };
    const onFailed = ({ jobId: id, failedReason }: { jobId: string; failedReason: string }) => {
      if (id === jobId) settle(undefined, failedReason);
    };
    events.on('completed', onCompleted);
    events.on('failed', onFailed);
    events.on('progress', onProgress);

    let reading = false;
    let missing = 0;
    const check = async () => {
      if (reading || settled) return; // a read still pending (Redis away) is not stacked on
      reading = true;
      try {
        const { job, state } = await readJob(this.queues[role], jobId);
        if (settled) return;
        if (!job) {
          // Gone: decided on the second read in a row, so an event already on its way (a job removed
          // as it ended) still settles it with its real outcome.
          if (++missing < 2) return;
          if (role === 'gc') {
            // gc and sweep jobs are removed when they end, by design (GC_JOB_OPTIONS): gone is ended,
            // with a result nobody can read any more.
            settle(undefined, null);
            return;
          }
          dispose();
          const again = op !== null ? `run the same request again under op ${op} to finish it` : 'run the same request again';
          reject(
            new ForkpointError(
              ErrorCodes.JOB_LOST,
              `job ${jobId} vanished from Redis before it finished (Redis restarted empty or evicted it, or it was removed); ` +
                `what it did, if anything, is in the home (\`forkpoint check\` shows a half-done operation): ${again}`,
              { id: jobId, queue: role, ...(op !== null ? { op } : {}) },
            ),
          );
          return;
        }
        missing = 0;
        if (state === 'completed') settle(job.returnvalue, null);
        else if (state === 'failed') settle(undefined, job.failedReason || 'unknown failure');
      } catch (err) {
        this.lastError = err as Error;
        const unavailable = this.waitOptions.failFast ? redisUnavailableFrom(err, parseRedisUrl(this.redisUrl).display) : err;
        if (isForkpointError(unavailable, ErrorCodes.REDIS_UNAVAILABLE)) {
          dispose();
          reject(unavailable);
        }
        // Otherwise Redis does not answer: keep trying; the caller's timeout or its watch on the service ends the wait.
      } finally {
        reading = false;
      }
    };
    const poll = () => {
      if (settled || timer) return;
      timer = setInterval(() => void check(), this.waitOptions.pollMs ?? 1000);
      this.polls.add(timer);
    };
    return { promise, dispose, settle, poll, progressSoFar };
  }

  createBox(boxId: string, from: { sizeBytes: number } | { fromImage: string } | { rootfs: string }, op = newOp()) {
    return this.enqueue<'box-create', { boxId: string; diskPath: string }>('box-create', { op, boxId, ...from });
  }

  /** Clone `source` into the given boxes, or into `count` new boxes named `<prefix><i>`. */
  clone(source: string, to: CloneTargets, op = newOp()) {
    const targets = Array.isArray(to) ? to : 'targets' in to ? to.targets : cloneTargets(source, to.count, to.prefix, op);
    return this.enqueue<'clone', { baseId: string; source: string; targets: string[] }>('clone', { op, source, targets });
  }

  snapshot(boxId: string, name: string, op = newOp()) {
    return this.enqueue<'snapshot-create', { baseId: string; boxId: string; name: string; sizeBytes: number }>('snapshot-create', { op, boxId, name });
  }

  removeSnapshot(name: string, o: { boxId?: string; force?: boolean } = {}, op = newOp()) {
    return this.enqueue<'snapshot-remove', { baseId: string; name: string; action: string }>('snapshot-remove', { op, name, ...o });
  }

  cloneSnapshot(name: string, target: string, o: { boxId?: string } = {}, op = newOp()) {
    return this.enqueue<'snapshot-clone', { baseId: string; target: string }>('snapshot-clone', { op, name, target, ...o });
  }

  /** Make `boxId`'s disk a fresh child of its snapshot `name` (what it wrote since is discarded); `checkInUse`: refuse while QEMU holds the disk. */
  restoreSnapshot(boxId: string, name: string, o: { checkInUse?: boolean } = {}, op = newOp()) {
    return this.enqueue<'snapshot-restore', { boxId: string; name: string; baseId: string; released: string[] }>('snapshot-restore', { op, boxId, name, ...o });
  }

  /** A new box from an OCI image layout (`forkpoint box export`): layers verified, reused by digest. */
  importBox(layout: string, boxId: string, o: { tag?: string } = {}, op = newOp()) {
    return this.enqueue<'box-import', { boxId: string; manifest: string; layers: { digest: string; baseId: string; reused: boolean }[] }>('box-import', { op, layout, boxId, ...o });
  }

  removeBox(boxId: string, op = newOp()) {
    return this.enqueue<'remove-box', { boxId: string; touchedBases: string[] }>('remove-box', { op, boxId });
  }

  /** Many boxes as one job (at most MAX_REMOVE_BOXES): an outcome per box, in the order given; one box's refusal fails nothing else. */
  removeBoxes(boxIds: string[], op = newOp()) {
    return this.enqueue<'remove-box', { outcomes: BoxRemoval[]; touchedBases: string[] }>('remove-box', { op, boxIds });
  }

  /** GC one base, or sweep every candidate when no id is given. */
  gc(baseId?: string) {
    return baseId === undefined ? this.enqueue('sweep', {}) : this.enqueue('gc', { baseId });
  }

  removeRootfs(key: string, op = newOp()) {
    return this.enqueue<'rootfs-remove', { baseId: string; key: string; removed: boolean }>('rootfs-remove', { op, key });
  }

  importRootfs(key: string, image: string, op = newOp()) {
    return this.enqueue<'rootfs-import', { baseId: string; key: string; basePath: string; imported: boolean }>('rootfs-import', { op, key, image });
  }

  /** Jobs waiting or running on a queue (the CLI waits for GC to settle before it exits). Delayed jobs
   *  (the next periodic sweep, retries in backoff) are not counted: nobody should wait for those. */
  async pending(role: QueueRole): Promise<number> {
    const c = await this.queues[role].getJobCounts('waiting', 'active', 'prioritized');
    return Object.values(c).reduce((a, b) => a + b, 0);
  }

  /** A job's state by id, or null when the queue has no such job (never queued, or removed after completion). */
  async getJob(role: QueueRole, id: string): Promise<JobState | null> {
    const { job, state } = await readJob(this.queues[role], id);
    if (!job) return null;
    return {
      id,
      name: job.name,
      queue: role,
      state,
      progress: job.progress,
      data: job.data,
      result: job.returnvalue ?? null,
      failedReason: job.failedReason || null,
      attemptsMade: job.attemptsMade,
    };
  }

  /** The queue that holds job `id`: ops first (every request is there), else gc (gc and sweep jobs, only until they end). */
  private async findJob(id: string): Promise<{ role: QueueRole; job: Job } | null> {
    for (const role of ['ops', 'gc'] as const) {
      const job = await this.queues[role].getJob(id);
      if (job) return { role, job };
    }
    return null;
  }

  private notFound(id: string): ForkpointError {
    return new ForkpointError(ErrorCodes.NOT_FOUND, `no job ${id} on this home's queues (of the gc queue's finished jobs only the service's last ${GC_HISTORY_KEPT} GC runs are kept; others are kept a day after they complete, a week after they fail)`, { id });
  }

  /** A handle on a job already queued, by id (`forkpoint jobs wait`): the same wait as enqueue's, which cannot miss the end. */
  async follow<T = unknown>(id: string): Promise<JobHandle<T>> {
    const found = await this.findJob(id);
    if (!found) throw this.notFound(id);
    const data = found.job.data as { op?: unknown } | undefined;
    const finish = this.finishOf<T>(found.role, id, typeof data?.op === 'string' ? data.op : null);
    // Read again now that we listen: a job that ended in between sent its event before we did.
    const job = await this.queues[found.role].getJob(id).catch(() => null);
    if (job?.finishedOn) finish.settle(job.returnvalue, (await job.isFailed()) ? job.failedReason || 'unknown failure' : null);
    return this.handle<T>(id, found.role, found.job.name as JobName, finish);
  }

  /**
   * Ask job `id` to stop (contract/cancel.ts). A job that waits is removed (`removed`: nothing of it
   * ran); one that runs reads the request between steps and fails with E_CANCELLED, having undone
   * what it had not finished (`cancelling`: follow() it for the end); one that ended is `finished`.
   */
  async cancel(id: string): Promise<CancelOutcome> {
    const found = await this.findJob(id);
    if (!found) throw this.notFound(id);
    const { role, job } = found;
    const queue = this.queues[role];
    const outcome = (o: CancelOutcome['outcome'], state: string): CancelOutcome => ({ id, name: job.name, queue: role, outcome: o, state });
    const before = await job.getState();
    if (before === 'completed' || before === 'failed') return outcome('finished', before);
    // The request first: a job that starts between here and remove() sees it before it does anything.
    const redis = await queue.getBackend().client;
    const key = cancelKey(queue.opts.prefix ?? 'bull', queue.name, id);
    await redis.set(key, new Date().toISOString(), { EX: CANCEL_REQUEST_TTL_SECONDS });
    try {
      // BullMQ refuses to remove a job a worker holds the lock of (it is running).
      await job.remove();
      await redis.del(key);
      return outcome('removed', before);
    } catch {
      const now = await job.getState();
      if (now === 'completed' || now === 'failed') {
        await redis.del(key);
        return outcome('finished', now);
      }
      return outcome('cancelling', now);
    }
  }

  /** Drop a cancel request nobody needs any more (the job ended without reading it). */
  async forgetCancel(role: QueueRole, id: string): Promise<void> {
    const queue = this.queues[role];
    await (await queue.getBackend().client).del(cancelKey(queue.opts.prefix ?? 'bull', queue.name, id));
  }

  /** The BullMQ queue itself, for observers (dashboard, metrics); enqueue through the methods above. */
  queue(role: QueueRole): Queue {
    return this.queues[role];
  }

  /** Listen to progress, completion and failure of every job of a queue; returns the unsubscribe. */
  watch(role: QueueRole, listener: (e: QueueEvent) => void): () => void {
    const events = this.events[role];
    const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => listener({ type: 'progress', jobId, data });
    const onCompleted = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) => listener({ type: 'completed', jobId, result: returnvalue });
    const onFailed = ({ jobId, failedReason }: { jobId: string; failedReason: string }) => listener({ type: 'failed', jobId, failedReason });
    events.on('progress', onProgress);
    events.on('completed', onCompleted);
    events.on('failed', onFailed);
    return () => {
      events.off('progress', onProgress);
      events.off('completed', onCompleted);
      events.off('failed', onFailed);
    };
  }

  private handle<T>(id: string, role: QueueRole, name: JobName, finish: { promise: Promise<T>; poll: () => void; progressSoFar: ProgressEvent[] }): JobHandle<T> {
    const { promise: finished, poll, progressSoFar } = finish;
    const events = this.events[role];
    const timeoutMs = this.waitOptions.waitTimeoutMs;
    let waited: Promise<T> | undefined;
    /** The result, or E_TIMEOUT once `timeoutMs` has passed since it was first asked for. */
    const bounded = (): Promise<T> => {
      poll();
      if (timeoutMs === undefined) return finished;
      if (waited) return waited;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const seconds = Number((timeoutMs / 1000).toFixed(3));
          reject(
            new ForkpointError(
              ErrorCodes.TIMEOUT,
              `job ${id} did not finish within ${seconds} s; it was not cancelled: follow it with \`forkpoint jobs wait ${id}\` (or GET /api/jobs/${role}/${id} on forkpoint serve), cancel it with \`forkpoint jobs cancel ${id}\``,
              { id, queue: role, timeoutSeconds: seconds },
            ),
          );
        }, timeoutMs);
      });
      waited = Promise.race([finished, late]).finally(() => clearTimeout(timer));
      waited.catch(() => undefined);
      return waited;
    };
    return {
      id,
      name,
      result: bounded,
      onProgress: (listener) => {
        const onEvent = ({ jobId, data }: { jobId: string; data: unknown }, eventId?: string) => {
          const atMs = Number(eventId?.split('-')[0]);
          if (jobId === id && data && typeof data === 'object' && 'done' in data) listener(data as JobProgress, Number.isFinite(atMs) && atMs > 0 ? atMs : Date.now());
        };
        // What came before, then what comes (both in this tick: nothing falls in between).
        for (const e of progressSoFar.splice(0)) onEvent(e, e.eventId);
        events.on('progress', onEvent);
        return () => events.off('progress', onEvent);
      },
    };
  }
}

/**
 * A job and its state, read in that order: the state first, then the job's fields. Read the other
 * way round, a job that ends in between reads as failed with no reason (or completed with no
 * result): the fields were read before the end wrote them. BullMQ writes a job's end and its state
 * in one script, so fields read after a final state are that end's.
 */
async function readJob(queue: Queue, id: string): Promise<{ job: Job | undefined; state: Awaited<ReturnType<Queue['getJobState']>> }> {
  const state = await queue.getJobState(id);
  return { job: await queue.getJob(id), state };
}
