/**
 * How long a pipeline's close waits on Redis. BullMQ's Worker.close() waits for an 'end' event
 * of its blocking connection that ioredis never emits while it is between reconnect attempts
 * (taskforcesh/bullmq#4656), and our own jobs wait on Redis too (progress, the cancel key, the
 * hand-back): with Redis gone, a close that only awaits would never return. So the jobs get their
 * grace, and after it they are given up on only while Redis does not answer (a long step with
 * Redis up still finishes, as before); then the Redis side gets `boundMs` more, and what is still
 * not closed is reported so the caller drops its connections instead of quitting them.
 */

export interface RedisCloseOutcome {
  /** Everything closed the ordinary way (QUIT, every job over). */
  closed: boolean;
  /** The jobs of ours still running when the wait was given up (`queue:id`): they stay active in Redis, and its stalled-job check hands them back. */
  cutOff: string[];
  /** Whether Redis answered at the end (when not `closed`). */
  redisReachable: boolean;
}

export interface RedisCloseWait {
  /** The BullMQ side closing: workers (they wait for our jobs), the queue, the connections. */
  closing: Promise<void>;
  /** Our jobs still running, by `queue:id`, with the promises of their processors. */
  running: () => Map<string, Promise<unknown>>;
  graceMs: number;
  boundMs: number;
  /** One quick, bounded look: does Redis answer? */
  reachable: () => Promise<boolean>;
  /**
   * Ask `reachable` after a close that ended too, every 50 ms for up to `boundMs`: ioredis ends a
   * connection at once when it is between reconnect attempts, so BullMQ's close can finish with
   * Redis gone and nothing quit. Clean only if Redis answers within the bound (a private server
   * being restarted does), as a close that hangs gets the same bound (serve exits 3 otherwise).
   */
  confirmClosed?: boolean;
  everyMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export async function waitForRedisClose(o: RedisCloseWait): Promise<RedisCloseOutcome> {
  let closed = false;
  const closing = o.closing.then(
    () => void (closed = true),
    () => void (closed = true), // a close that failed is over too; the caller hears of it from BullMQ's 'error'
  );
  const graceEnds = Date.now() + o.graceMs;
  const every = o.everyMs ?? 1000;
  for (;;) {
    const jobs = [...o.running().values()];
    if (closed || jobs.length === 0) break;
    await Promise.race([closing, Promise.allSettled(jobs), sleep(every)]);
    if (closed || o.running().size === 0) break;
    if (Date.now() >= graceEnds && !(await o.reachable())) break;
  }
  if (!closed) await Promise.race([closing, sleep(o.boundMs)]);
  if (closed) {
    const reachable = !o.confirmClosed || (await answersWithin(o.reachable, o.boundMs));
    return { closed: reachable, cutOff: [], redisReachable: reachable };
  }
  return { closed: false, cutOff: [...o.running().keys()], redisReachable: await o.reachable() };
}

async function answersWithin(reachable: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await reachable()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}
