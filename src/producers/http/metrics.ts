/**
 * Prometheus metrics on a private registry. Gauges of the home's state are
 * read on each scrape (metrics-home.ts); counters and histograms here are fed
 * by the pipeline's job-finished events. Every label takes few values (job
 * names, a size class, an error class and code from closed lists), so the
 * series stay countable however many boxes a home has.
 */
import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobFinishedEvent } from '../../workers/pipeline.js';
import type { HttpContext } from './context.js';
import { errorClass } from './error-class.js';
import { homeGauges } from './metrics-home.js';

export interface ServiceMetrics {
  registry: Registry;
  /** Prometheus text, after reading the current state. */
  scrape(): Promise<string>;
  /** Stop listening to the pipeline. */
  dispose(): void;
}

const PREFIX = 'forkpoint_process_';
/**
 * prom-client's gauges named `*_total` (a counter's suffix): `promtool check metrics` flags them.
 * Each is the sum of its labelled gauge without the suffix (`..._active_handles{type}`), which stays.
 */
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * A job's size class: how many boxes it works on. A 3,000-target clone and a one-target clone
 * differ by three orders of magnitude in run time; one histogram over both says nothing.
 */
export function sizeClass(e: Pick<JobFinishedEvent, 'data'>): string {
  const targets = (e.data as { targets?: unknown } | undefined)?.targets;
  const n = Array.isArray(targets) ? targets.length : 1;
  if (n <= 1) return '1';
  if (n <= 10) return '2-10';
  if (n <= 100) return '11-100';
  if (n <= 1000) return '101-1000';
  return '1001+';
}

/** COW children a successful job gave new boxes (a fork's replacement child of the source box is not counted). */
export function childrenCreated(e: JobFinishedEvent): number {
  if (!e.ok) return 0;
  if (e.name === 'clone') return ((e.result as { targets?: unknown[] } | undefined)?.targets ?? []).length;
  if (e.name === 'snapshot-clone') return 1;
  if (e.name === 'box-create') return typeof (e.data as { rootfs?: unknown } | undefined)?.rootfs === 'string' ? 1 : 0;
  return 0;
}

export function packageVersion(): string {
  // src/producers/http/ and dist/producers/http/ are both three levels below the package root.
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function createMetrics(ctx: HttpContext): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: PREFIX });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(`${PREFIX}${name}`);
  const r = [registry];
  const refresh = homeGauges(ctx, registry);

  new Gauge({ name: 'forkpoint_build_info', help: 'Always 1; the labels say what runs', labelNames: ['version', 'nodejs'], registers: r }).set(
    { version: packageVersion(), nodejs: process.version },
    1,
  );
  const writerApplied = new Counter({ name: 'forkpoint_writer_commands_applied_total', help: 'Commands the DB writer applied', registers: r });
  const gcRuns = new Counter({ name: 'forkpoint_gc_runs_total', help: 'GC jobs run, by outcome', labelNames: ['outcome'], registers: r });
  const reclaimed = new Counter({ name: 'forkpoint_gc_reclaimed_bytes_total', help: 'Bytes freed by GC jobs', registers: r });
  const jobs = new Counter({ name: 'forkpoint_jobs_total', help: 'Jobs finished, by name and outcome', labelNames: ['job', 'outcome'], registers: r });
  const failures = new Counter({
    name: 'forkpoint_job_failures_total',
    help: 'Failed job attempts by error class (user: the request was wrong; fault: the machine failed it) and code',
    labelNames: ['job', 'class', 'code'],
    registers: r,
  });
  const children = new Counter({ name: 'forkpoint_children_created_total', help: 'COW children written for new boxes, by job', labelNames: ['job'], registers: r });
  const durations = new Histogram({
    name: 'forkpoint_job_duration_seconds',
    help: 'Job run time by name, outcome and size class (boxes the job works on: 1, 2-10, 11-100, 101-1000, 1001+)',
    labelNames: ['job', 'outcome', 'size'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
    registers: r,
  });
  const waits = new Histogram({
    name: 'forkpoint_job_wait_seconds',
    help: 'Time a job waited in its queue before it started (past any delay)',
    labelNames: ['queue', 'job'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
    registers: r,
  });

  const onFinished = (e: JobFinishedEvent) => {
    const outcome = e.ok ? 'ok' : 'failed';
    jobs.inc({ job: e.name, outcome });
    durations.observe({ job: e.name, outcome, size: sizeClass(e) }, e.durationMs / 1000);
    if (e.waitMs !== undefined) waits.observe({ queue: e.queue, job: e.name }, e.waitMs / 1000);
    if (!e.ok) {
      const code = e.error?.code ?? 'E_IO';
      failures.inc({ job: e.name, class: errorClass(code), code });
    }
    const made = childrenCreated(e);
    if (made > 0) children.inc({ job: e.name }, made);
    if (e.name === 'gc') {
      const result = e.result as { collected?: boolean; reclaimedBytes?: number } | undefined;
      gcRuns.inc({ outcome: !e.ok ? 'failed' : result?.collected ? 'collected' : 'kept' });
      if (e.ok && result?.reclaimedBytes) reclaimed.inc(result.reclaimedBytes);
    }
    // A sweep collects the bases it finds itself (flows/gc.ts): their bytes count too.
    if (e.name === 'sweep' && e.ok) {
      const freed = (e.result as { reclaimedBytes?: number } | undefined)?.reclaimedBytes;
      if (freed) reclaimed.inc(freed);
    }
  };
  ctx.pipeline.events.on('job-finished', onFinished);

  let appliedSeen = 0;
  return {
    registry,
    async scrape() {
      await refresh();
      // The writer counts commands itself; the counter follows it.
      const applied = ctx.pipeline.writer.applied;
      if (applied > appliedSeen) writerApplied.inc(applied - appliedSeen);
      appliedSeen = applied;
      return registry.metrics();
    },
    dispose() {
      ctx.pipeline.events.off('job-finished', onFinished);
    },
  };
}
