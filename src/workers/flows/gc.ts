/**
 * gc: collect one base if the writer agrees, then ask for its parent (the
 * cascade is one more job, collapsed by job id). sweep: collect every
 * candidate of the GC plan, the backstop for GC requests lost with a crashed Redis.
 */
import { decideGcClaim } from '../../db/rules/gcClaim.js';
import { planGcOf } from '../../db/rules/gcPlan.js';
import { firstReader } from '../../db/sql/firstReader.js';
import { basesReadByBoxes } from '../../db/sql/basesReadByBoxes.js';
import { requestCompactionIfDeep } from './compact.js';
import { findBaseById } from '../../db/sql/findBaseById.js';
import { findOp } from '../../db/sql/findOp.js';
import type { ClaimGcResult } from '../../db/types.js';
import type { JobPayload } from '../../contract/jobs.js';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import type { JobContext } from './context.js';

export interface GcResult {
  baseId: string;
  collected: boolean;
  reason?: string;
  reclaimedBytes: number;
}

/** Unlink a claimed base's file and drop its record; returns the parent to try next. */
export async function collectBase(ctx: JobContext, claim: Extract<ClaimGcResult, { claimed: true }>): Promise<string | null> {
  await ctx.files.run({ type: 'removeBase', home: ctx.layout.home, path: claim.path, fsync: ctx.fsync });
  const finished = await ctx.writer.apply({ type: 'finishGc', baseId: claim.baseId });
  const parent = finished.parentId ?? claim.parentId;
  if (parent) await ctx.requestGc([parent]);
  return parent;
}

/** The base an explicit removal under `op` named, if that removal was already recorded (a retry). */
export function journalledBaseId(ctx: JobContext, op: string, command: 'removeSnapshot' | 'removeRootfs'): string | null {
  return (findOp(ctx.reader, op, command)?.payload as { baseId?: string } | undefined)?.baseId ?? null;
}

/**
 * The home's images whose header names `basePath` as their backing file: the images' own word
 * on what reads a base (invariant 1 does not rest on the records being right: a disk changed by
 * hand, a database restored from before a clone). `backings`: the pairs, if already read.
 */
export async function imagesReading(ctx: JobContext, basePath: string | undefined, backings?: [string, string][]): Promise<string[]> {
  const pairs = backings ?? (await ctx.files.run({ type: 'homeBackings', home: ctx.layout.home }));
  return pairs.filter(([, backing]) => backing === basePath).map(([image]) => image);
}

/** Why a base that images read is kept, though no record says they do. */
export const unrecordedReaders = (readers: string[]): string =>
  `${readers[0]}${readers.length > 1 ? ` and ${readers.length - 1} more` : ''} names it as its backing file, though no record says so (see forkpoint check)`;

/**
 * An explicit removal (a snapshot, a rootfs) of a base the records say nothing reads, but that
 * images read, is refused (E_HAS_DEPENDENTS naming them) before anything is recorded, as GC keeps
 * such a base. A reader the records know is the writer's to judge (a snapshot is tombstoned).
 */
export async function refuseUnrecordedReaders(ctx: JobContext, what: string, base: { id: string; basePath: string }): Promise<void> {
  if (firstReader(ctx.reader, base.id) !== null) return;
  const readers = await imagesReading(ctx, base.basePath);
  if (readers.length === 0) return;
  throw new ForkpointError(ErrorCodes.HAS_DEPENDENTS, `${what} (base ${base.id}) is not removed: ${unrecordedReaders(readers)}`, { baseId: base.id, readers: readers.slice(0, 10) });
}

/**
 * `backings`: the home's [image, backing file] pairs, read once by a caller collecting many
 * bases (a sweep); read here otherwise.
 */
export async function gcJob(ctx: JobContext, p: JobPayload<'gc'>, backings?: [string, string][]): Promise<GcResult> {
  // What the records keep needs no look at the images (and saying an image reads it "though no
  // record says so" would be wrong then): the rule read here, the claim has the last word below.
  const base = findBaseById(ctx.reader, p.baseId);
  const recorded = decideGcClaim(base, () => firstReader(ctx.reader, p.baseId));
  if (recorded.action === 'keep') return { baseId: p.baseId, collected: false, reason: recorded.reason, reclaimedBytes: 0 };
  // The images say what reads a base too. Asked before the claim, which readers made through
  // forkpoint reach as refs.
  const readers = await imagesReading(ctx, base?.basePath, backings);
  if (readers.length > 0) return { baseId: p.baseId, collected: false, reason: unrecordedReaders(readers), reclaimedBytes: 0 };
  const claim = await ctx.writer.apply({ type: 'claimGc', baseId: p.baseId });
  if (!claim.claimed) return { baseId: p.baseId, collected: false, reason: claim.reason, reclaimedBytes: 0 };
  await collectBase(ctx, claim);
  return { baseId: p.baseId, collected: true, reclaimedBytes: claim.sizeBytes };
}

export interface SweepResult {
  /** Every base the GC plan found, in its order, each with what its collection did. */
  bases: GcResult[];
  collected: number;
  reclaimedBytes: number;
}

/**
 * Collect every base the GC plan says nothing reads: the backstop for GC requests lost with a
 * crashed Redis. One at a time in the plan's order (each base before the parent it frees), each
 * through the writer's claim, which has the last word: a base something came to read since the
 * plan was read is left, with the reason. The result lists them, so a caller sees what went.
 */
export async function sweepJob(ctx: JobContext, _p: JobPayload<'sweep'>): Promise<SweepResult> {
  const planned = planGcOf(ctx.reader);
  const bases: GcResult[] = [];
  // The images read once for the whole sweep; a base collected reads nothing from then on.
  let backings = planned.length > 0 ? await ctx.files.run({ type: 'homeBackings', home: ctx.layout.home }) : [];
  for (const baseId of planned) {
    const path = findBaseById(ctx.reader, baseId)?.basePath;
    const result = await gcJob(ctx, { baseId }, backings);
    if (result.collected) backings = backings.filter(([image]) => image !== path);
    bases.push(result);
    await ctx.progress({ done: bases.length, total: planned.length });
  }
  // The backstop for compaction requests lost with a crashed Redis, as for GC requests.
  await requestCompactionIfDeep(ctx, basesReadByBoxes(ctx.reader));
  const collected = bases.filter((b) => b.collected);
  return { bases, collected: collected.length, reclaimedBytes: collected.reduce((n, b) => n + b.reclaimedBytes, 0) };
}
