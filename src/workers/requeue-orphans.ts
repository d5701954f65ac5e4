/**
 * I/O: the jobs the home's last owner was running when it died (kill -9, a power cut) are still
 * `active` in Redis, under locks nobody renews. Only the owner of the home runs its queues'
 * workers (runtime/home-lock.ts), so a pipeline starting on a home is the one consumer of its
 * queues, and every job active there before its workers start is such an orphan. BullMQ would
 * hand them back only once a lock expired and a stalled check after that saw it (10–15 s with
 * pipeline.ts's settings, each counted as a stall); moved back now, they run at once. Their op
 * journal makes the rerun safe, as for any retry.
 *
 * A job that keeps killing its owner (a crash loop) must still end: one started more than
 * MAX_FAST_REQUEUES times without finishing is left to BullMQ's stalled check, which fails it
 * after maxStalledCount stalls.
 */
import type { Queue } from 'bullmq';

/** Starts that did not end (crashes, also clean stops' hand-backs) before a job loses the fast path. */
export const MAX_FAST_REQUEUES = 5;

export interface RequeuedJob {
  queue: string;
  id: string;
  name: string;
}

/** Call before the queues' workers start: afterwards an active job may be this pipeline's own. */
export async function requeueOrphans(queues: readonly Queue[]): Promise<RequeuedJob[]> {
  const moved: RequeuedJob[] = [];
  for (const queue of queues) {
    for (const job of await queue.getActive()) {
      if (job.id === undefined || job.attemptsStarted - job.attemptsMade > MAX_FAST_REQUEUES) continue;
      // No token: the lock is the dead owner's, and is not checked (BullMQ's token '0').
      await job.moveToWait();
      moved.push({ queue: queue.name, id: job.id, name: job.name });
    }
  }
  return moved;
}
