/**
 * Prometheus metrics on a private registry. Gauges of the home's state are
 * read from the DB on each scrape (one forest read), queue depths from Redis;
 * counters and histograms are fed by the pipeline's job-finished events.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BaseKind, BaseState, BoxState } from '../../db/types.js';
import type { JobFinishedEvent } from '../../workers/pipeline.js';
import { readForest } from '../home-view.js';
import type { ForestBase } from '../forest.js';
import type { HttpContext } from './context.js';

const KINDS: BaseKind[] = ['snapshot', 'clone_base', 'rootfs'];
const BASE_STATES: BaseState[] = ['creating', 'ready', 'deleting'];
const BOX_STATES: BoxState[] = ['creating', 'ready', 'removing'];
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;

export interface ServiceMetrics {
  registry: Registry;
  /** Prometheus text, after reading the current state. */
  scrape(): Promise<string>;
  /** Stop listening to the pipeline. */
  dispose(): void;
}

export function createMetrics(ctx: HttpContext): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'forkpoint_process_' });
  const r = [registry];

  const bases = new Gauge({ name: 'forkpoint_bases', help: 'Base disks by kind and state', labelNames: ['kind', 'state'], registers: r });
  const tombstoned = new Gauge({ name: 'forkpoint_bases_tombstoned', help: 'Removed snapshots still read by clones', registers: r });
  const boxes = new Gauge({ name: 'forkpoint_boxes', help: 'Boxes by state', labelNames: ['state'], registers: r });
  const refs = new Gauge({ name: 'forkpoint_refs', help: 'Refs held by boxes on bases', registers: r });
  const basesBytes = new Gauge({ name: 'forkpoint_bases_bytes', help: 'Bytes the base files occupy', registers: r });
  const reclaimable = new Gauge({ name: 'forkpoint_reclaimable_bytes', help: 'Bytes a full GC would free now', registers: r });
  const reclaimableBases = new Gauge({ name: 'forkpoint_reclaimable_bases', help: 'Bases a full GC would collect now', registers: r });
  const orphans = new Gauge({ name: 'forkpoint_orphan_files', help: 'Files in bases/ without a record, in the last recovery report', registers: r });
  const problems = new Gauge({ name: 'forkpoint_recovery_problems', help: 'Problems in the last recovery report', registers: r });
  const queueJobs = new Gauge({ name: 'forkpoint_queue_jobs', help: 'Jobs per queue and state', labelNames: ['queue', 'state'], registers: r });
  const writerApplied = new Counter({ name: 'forkpoint_writer_commands_applied_total', help: 'Commands the DB writer applied', registers: r });
  const gcRuns = new Counter({ name: 'forkpoint_gc_runs_total', help: 'GC jobs run, by outcome', labelNames: ['outcome'], registers: r });
  const reclaimed = new Counter({ name: 'forkpoint_gc_reclaimed_bytes_total', help: 'Bytes freed by GC jobs', registers: r });
  const jobs = new Counter({ name: 'forkpoint_jobs_total', help: 'Jobs finished, by name and outcome', labelNames: ['job', 'outcome'], registers: r });
  const durations = new Histogram({
    name: 'forkpoint_job_duration_seconds',
    help: 'Job run time (fork, clone, snapshot, gc, …) by name and outcome',
    labelNames: ['job', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: r,
  });

  const onFinished = (e: JobFinishedEvent) => {
    const outcome = e.ok ? 'ok' : 'failed';
    jobs.inc({ job: e.name, outcome });
    durations.observe({ job: e.name, outcome }, e.durationMs / 1000);
    if (e.name === 'gc') {
      const result = e.result as { collected?: boolean; reclaimedBytes?: number } | undefined;
      gcRuns.inc({ outcome: !e.ok ? 'failed' : result?.collected ? 'collected' : 'kept' });
      if (e.ok && result?.reclaimedBytes) reclaimed.inc(result.reclaimedBytes);
    }
  };
  ctx.pipeline.events.on('job-finished', onFinished);

  let appliedSeen = 0;
  const refresh = async () => {
    const forest = readForest(ctx.reader);
    bases.reset();
    for (const kind of KINDS) for (const state of BASE_STATES) bases.set({ kind, state }, 0);
    let refTotal = 0;
    let tomb = 0;
    const walk = (n: ForestBase) => {
      bases.inc({ kind: n.kind, state: n.state });
      refTotal += n.refCount;
      if (n.tombstoned) tomb++;
      n.children.forEach(walk);
    };
    forest.roots.forEach(walk);
    refs.set(refTotal);
    tombstoned.set(tomb);
    basesBytes.set(forest.totals.basesBytes);
    reclaimable.set(forest.totals.reclaimableBytes);
    reclaimableBases.set(forest.totals.reclaimable.length);
    const boxCounts = ctx.reader.boxCountsByState();
    for (const state of BOX_STATES) boxes.set({ state }, boxCounts.get(state) ?? 0);
    orphans.set(ctx.lastRecovery.problems.filter((p) => p.subject === 'file').length);
    problems.set(ctx.lastRecovery.problems.length);
    for (const queue of ['ops', 'gc'] as const) {
      const counts = await ctx.client.queue(queue).getJobCounts(...QUEUE_STATES);
      for (const state of QUEUE_STATES) queueJobs.set({ queue, state }, counts[state] ?? 0);
    }
    // The writer counts commands itself; the counter follows it.
    const applied = ctx.pipeline.writer.applied;
    if (applied > appliedSeen) writerApplied.inc(applied - appliedSeen);
    appliedSeen = applied;
  };

  return {
    registry,
    async scrape() {
      await refresh();
      return registry.metrics();
    },
    dispose() {
      ctx.pipeline.events.off('job-finished', onFinished);
    },
  };
}
