/**
 * The scrape-time half of /metrics: gauges of the home's state, read fresh on
 * every scrape (one forest read from the DB, queue depths from Redis, one
 * statfs of the home's filesystem). Nothing here is fed by events.
 */
import { statfs } from 'node:fs/promises';
import { Gauge, type Registry } from 'prom-client';
import type { BaseKind, BaseState, BoxState } from '../../db/types.js';
import { readForest } from '../home-view.js';
import type { ForestBase } from '../forest.js';
import type { HttpContext } from './context.js';

const KINDS: BaseKind[] = ['snapshot', 'clone_base', 'rootfs'];
const BASE_STATES: BaseState[] = ['creating', 'ready', 'deleting'];
const BOX_STATES: BoxState[] = ['creating', 'ready', 'removing'];
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;

/** Registers the gauges on `registry`; the returned function refreshes them. */
export function homeGauges(ctx: HttpContext, registry: Registry): () => Promise<void> {
  const r = [registry];
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: r });
  const bases = gauge('forkpoint_bases', 'Base disks by kind and state', ['kind', 'state']);
  const tombstoned = gauge('forkpoint_bases_tombstoned', 'Removed snapshots still read by clones');
  const boxes = gauge('forkpoint_boxes', 'Boxes by state', ['state']);
  const refs = gauge('forkpoint_refs', 'Refs held by boxes on bases');
  const basesBytes = gauge('forkpoint_bases_bytes', 'Bytes the base files occupy, by kind (from the records)', ['kind']);
  const reclaimable = gauge('forkpoint_reclaimable_bytes', 'Bytes a full GC would free now');
  const reclaimableBases = gauge('forkpoint_reclaimable_bases', 'Bases a full GC would collect now');
  const orphans = gauge('forkpoint_orphan_files', 'Files in bases/ without a record, in the last recovery report');
  const problems = gauge('forkpoint_recovery_problems', 'Problems in the last recovery report');
  const queueJobs = gauge('forkpoint_queue_jobs', 'Jobs per queue and state', ['queue', 'state']);
  // node_exporter's names, so one alert rule reads either; about the filesystem that holds the home.
  const fsAvail = gauge('forkpoint_home_filesystem_avail_bytes', "Bytes free for forkpoint on the home's filesystem");
  const fsSize = gauge('forkpoint_home_filesystem_size_bytes', "Size of the home's filesystem in bytes");
  const fsFilesFree = gauge('forkpoint_home_filesystem_files_free', "Free inodes on the home's filesystem");
  const fsFiles = gauge('forkpoint_home_filesystem_files', "Inodes on the home's filesystem");

  return async () => {
    const forest = readForest(ctx.reader);
    bases.reset();
    for (const kind of KINDS) for (const state of BASE_STATES) bases.set({ kind, state }, 0);
    const bytesByKind = new Map<BaseKind, number>(KINDS.map((k) => [k, 0]));
    let refTotal = 0;
    let tomb = 0;
    const walk = (n: ForestBase) => {
      bases.inc({ kind: n.kind, state: n.state });
      bytesByKind.set(n.kind, (bytesByKind.get(n.kind) ?? 0) + n.sizeBytes);
      refTotal += n.refCount;
      if (n.tombstoned) tomb++;
      n.children.forEach(walk);
    };
    forest.roots.forEach(walk);
    refs.set(refTotal);
    tombstoned.set(tomb);
    for (const [kind, bytes] of bytesByKind) basesBytes.set({ kind }, bytes);
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
    // bavail, not bfree: the blocks reserved for root are not ours to fill.
    const fs = await statfs(ctx.layout.home);
    fsAvail.set(fs.bavail * fs.bsize);
    fsSize.set(fs.blocks * fs.bsize);
    fsFilesFree.set(fs.ffree);
    fsFiles.set(fs.files);
  };
}
