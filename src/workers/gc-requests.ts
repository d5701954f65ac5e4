/**
 * GC requests for a base whose GC job is running right now. BullMQ collapses
 * jobs by id (`gc-<base>`), which is what we want while a job waits: one run
 * sees the latest state. But a request made while that job runs is dropped,
 * and if it came because the base's last reader just went (the running job
 * having already decided "keep"), nothing would collect the base until the
 * sweep. So such requests are held here and made again once the job is over.
 */
export class GcRequests {
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();

  /** A GC job for `baseId` has started. */
  started(baseId: string): void {
    this.running.add(baseId);
  }

  /** The bases to enqueue now; those whose job is running are remembered for later. */
  request(baseIds: readonly string[]): string[] {
    const now: string[] = [];
    for (const id of new Set(baseIds)) {
      if (this.running.has(id)) this.again.add(id);
      else now.push(id);
    }
    return now;
  }

  /** The GC job for `baseId` is over; true if it was asked for again meanwhile (enqueue it now). */
  finished(baseId: string): boolean {
    this.running.delete(baseId);
    return this.again.delete(baseId);
  }
}
