/**
 * Recovery while the service runs. A job that fails for good (a full disk,
 * say) can leave its operation half-done: a fork still journalled, clone
 * targets whose names are taken. Start-up recovery would settle it, but a
 * service may run for months. So after such a failure (and when an operator
 * asks: `POST /api/check/repair`, `forkpoint check --repair`) the pipeline
 * runs the same recovery, through its own ports, with its workers paused:
 * recovery must never settle work that is still in progress, and with no job
 * running, whatever is half-done was cut off.
 */
import type { Database } from 'better-sqlite3';
import type { Worker } from 'bullmq';
import type { JobContext } from './flows/context.js';
import { recover, type RecoveryReport } from './recovery/index.js';

export interface LiveRepair {
  /** Pause the workers (letting active jobs finish), repair, resume; one at a time. */
  repair(): Promise<RecoveryReport>;
  /** A job failed for good: repair soon if a dry run finds something to settle. */
  afterFailure(): void;
  /** Wait for a repair under way (shutdown). */
  settled(): Promise<void>;
}

/** How soon after a failure to look, and the longest wait between looks while a repair cannot be done. */
const FIRST_LOOK_MS = 200;
const MAX_RETRY_MS = 30_000;

export function liveRepair(o: { flows: JobContext; db: Database; workers: Worker[]; log?: (line: string) => void }): LiveRepair {
  let running: Promise<RecoveryReport> | null = null;
  let pending: ReturnType<typeof setTimeout> | null = null;

  const repair = (): Promise<RecoveryReport> => {
    running ??= (async () => {
      await Promise.all(o.workers.map((w) => w.pause()));
      try {
        const report = await recover(o.flows.layout.home, { repair: true, live: { flows: o.flows, db: o.db } });
        if (report.summary.repaired > 0) o.log?.(`live repair: ${report.summary.repaired} repaired, ${report.summary.needsAttention} need attention`);
        return report;
      } finally {
        for (const w of o.workers) w.resume();
        running = null;
      }
    })();
    return running;
  };

  /** Look (a dry run), repair if something can be settled; while a repair cannot (the disk is still full), look again later. */
  const settleSoon = (delayMs: number) => {
    if (pending) return;
    pending = setTimeout(() => {
      pending = null;
      void (async () => {
        const dry = await recover(o.flows.layout.home, { repair: false });
        if (!dry.problems.some((p) => !p.action.startsWith('none'))) return;
        const report = await repair();
        if (report.problems.some((p) => p.action.includes('(failed:'))) settleSoon(Math.min(delayMs * 2, MAX_RETRY_MS));
      })().catch((err: Error) => {
        o.log?.(`live repair failed: ${err.message}`);
        settleSoon(Math.min(delayMs * 2, MAX_RETRY_MS));
      });
    }, delayMs);
    pending.unref();
  };

  return {
    repair,
    afterFailure: () => settleSoon(FIRST_LOOK_MS),
    async settled() {
      if (pending) clearTimeout(pending);
      pending = null;
      await running?.catch(() => undefined);
    },
  };
}
