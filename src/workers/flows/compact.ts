/**
 * compact: background compaction of a deep chain. Every fork of a box adds a level to what its
 * disk reads; the fork itself only flattens inline at the hard cap (MAX_CHAIN_DEPTH, fork.ts),
 * which is a full copy of the disk inside the user's request. Well before that, a fork that leaves
 * a base at SOFT_CHAIN_DEPTH asks for this job, which runs on the gc queue:
 *
 *   beginCompact (journal: the copy's row, creating)  →  flatten the base into bases/<copy>.qcow2
 *   →  (under the boxes' locks) re-point the box disks that read the base at the copy
 *   →  commitCompact (the boxes read and ref only the copy)  →  GC of what lost its readers.
 *
 * Only box disks are re-pointed: a base is never edited (invariant 6). Bases forked on top of the
 * deep one (snapshots, older clone bases) keep their chain, which their fork kept within the cap;
 * a box that reads one of them is compacted when that base is asked for. A crash at any step
 * leaves a valid chain: recovery rolls the compaction forward once a disk reads the copy, else
 * removes the copy (recovery/compactions.ts).
 */
import type { JobPayload } from '../../contract/jobs.js';
import { findBaseById } from '../../db/sql/findBaseById.js';
import { findOp } from '../../db/sql/findOp.js';
import { findPendingCompaction } from '../../db/sql/findPendingCompaction.js';
import { listBoxes } from '../../db/sql/listBoxes.js';
import type { BeginCompactResult, DiskInfo, WriterResults } from '../../db/types.js';
import type { Database } from 'better-sqlite3';
import { boxDiskPath } from '../../layout.js';
import { MAX_CHAIN_DEPTH } from '../../qcow2/constants.js';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { InjectedFault } from '../../faults.js';
import type { KeyedLock } from '../keyed-lock.js';
import { subOp } from './attach-children.js';
import type { JobContext } from './context.js';

/**
 * Compaction starts when a box disk reads this many backing files. ceph-csi flattens at 4 (soft)
 * and refuses at 8 (hard), Cinder at 5. Below the cap of 8, 4 leaves four more forks of the same
 * line for the background job to catch up before the inline flatten is needed; lower would copy
 * whole disks more often (each compaction is a full copy of the data the chain holds).
 */
export const SOFT_CHAIN_DEPTH = 4;

export interface CompactResult {
  baseId: string;
  compacted: boolean;
  reason?: string;
  /** The flattened copy the boxes read now. */
  copyId?: string;
  repointed: string[];
}

/** How many backing files a child of `baseId` reads: the base and its recorded ancestors. */
export function chainDepthOf(db: Database, baseId: string): number {
  let depth = 0;
  for (let id: string | null = baseId; id !== null && depth <= MAX_CHAIN_DEPTH; depth++) id = findBaseById(db, id)?.parentId ?? null;
  return depth;
}

/** After a fork: ask for compaction of the bases whose readers now read SOFT_CHAIN_DEPTH files or more. */
export async function requestCompactionIfDeep(ctx: JobContext, baseIds: string[]): Promise<void> {
  if (!ctx.requestCompact) return;
  const deep = baseIds.filter((id) => chainDepthOf(ctx.reader, id) >= SOFT_CHAIN_DEPTH);
  if (deep.length > 0) await ctx.requestCompact(deep);
}

const readersOf = (db: Database, baseId: string): string[] => listBoxes(db, { baseId, state: 'ready' }).map((b) => b.id);

export async function compactJob(ctx: JobContext, p: JobPayload<'compact'>): Promise<CompactResult> {
  const skip = (reason: string): CompactResult => ({ baseId: p.baseId, compacted: false, reason, repointed: [] });
  const pending = findPendingCompaction(ctx.reader, p.baseId);
  const readers = readersOf(ctx.reader, p.baseId);
  if (!pending) {
    const base = findBaseById(ctx.reader, p.baseId);
    if (!base || base.state !== 'ready' || base.kind === 'rootfs') return skip(base ? `base is ${base.state === 'ready' ? 'a rootfs image' : base.state}` : 'no such base');
    if (chainDepthOf(ctx.reader, base.id) < SOFT_CHAIN_DEPTH) return skip('its chain is shallow');
    if (readers.length === 0) return skip('no box reads it');
  }
  // A pending compaction (a failed or cut-off attempt) is resumed under its own op; a new one is
  // named after its boxes, so a request repeated for the same boxes replays, never copies twice.
  const op = pending?.opId ?? subOp(`compact-${p.baseId}`, 'c', readers);
  ctx.workingOn?.({ bases: [p.baseId] });
  const begun = await ctx.writer.apply({ type: 'beginCompact', op, baseId: p.baseId });
  // A replay of a committed compaction: what it could re-point, it did (a disk it left is one no fork may take either).
  if (findOp(ctx.reader, op, 'beginCompact')?.state === 'done') return skip(`already compacted into ${begun.baseId}`);
  if (readers.length === 0 && (await abandonCompaction(ctx, begun))) return skip('no box reads it any more');
  ctx.workingOn?.({ bases: [begun.baseId] });
  let disk: DiskInfo | null;
  try {
    disk = await ctx.files.run({ type: 'compactWrite', home: ctx.layout.home, begun, disks: disksOf(ctx, readers), fsync: ctx.fsync });
  } catch (err) {
    await abandonCompaction(ctx, begun);
    throw err;
  }
  if (disk === null) {
    await abandonCompaction(ctx, begun);
    return skip('no box disk reading it may be rewritten (see forkpoint check)');
  }
  const committed = await finishCompaction(ctx, begun, disk, readers);
  return { baseId: p.baseId, compacted: true, copyId: committed.baseId, repointed: committed.repointed };
}

const disksOf = (ctx: JobContext, boxIds: string[]) => boxIds.map((id) => boxDiskPath(ctx.layout, id));

/**
 * Re-point the boxes (those of `candidates` that still read the compacted base), commit, ask for
 * GC. Under the boxes' locks: a fork of one of them must not move its disk while its header is
 * rewritten. The flatten before it takes no lock, so forks never wait for a copy.
 */
export async function finishCompaction(ctx: JobContext, begun: BeginCompactResult, disk: DiskInfo, candidates: string[]): Promise<WriterResults['commitCompact']> {
  return withBoxLocks(ctx.boxLock, [...candidates].sort(), async () => {
    const still = readersOf(ctx.reader, begun.sourceId).filter((id) => candidates.includes(id));
    let repointed: string[];
    try {
      repointed = await ctx.files.run({ type: 'compactRepoint', home: ctx.layout.home, begun, disks: disksOf(ctx, still), fsync: ctx.fsync });
    } catch (err) {
      await putBack(ctx, begun, still, err);
      throw err;
    }
    const reading = new Set(repointed);
    const boxIds = still.filter((id) => reading.has(boxDiskPath(ctx.layout, id)));
    let committed: WriterResults['commitCompact'];
    try {
      committed = await ctx.writer.apply({ type: 'commitCompact', op: begun.op, disk, boxIds });
    } catch (err) {
      // Not committed (the entry is still pending): the disks read a copy no record knows yet.
      if (findOp(ctx.reader, begun.op, 'beginCompact')?.state === 'pending') await putBack(ctx, begun, still, err);
      throw err;
    }
    await ctx.requestGc(committed.touchedBases);
    return committed;
  });
}

/**
 * After a failure that is not a crash (recovery runs before the next job then), no disk may be
 * left reading the uncommitted copy once the locks go: a fork would move one into a base whose
 * backing is that copy, and the compaction's undo or rewrite would then delete it under the base.
 * The disks go back to the compacted base (same guest bytes), and the copy goes. If that fails
 * too (the writer is gone), the pending entry is recovery's, which keeps a copy a disk reads.
 */
async function putBack(ctx: JobContext, begun: BeginCompactResult, boxIds: string[], err: unknown): Promise<void> {
  if (err instanceof InjectedFault) return;
  await ctx.files.run({ type: 'compactRepoint', home: ctx.layout.home, begun: reversed(begun), disks: disksOf(ctx, boxIds), fsync: ctx.fsync });
  await abandonCompaction(ctx, begun);
}

/** The same compaction seen backwards: re-pointing by it moves disks from the copy back to the compacted base. */
const reversed = (begun: BeginCompactResult): BeginCompactResult => ({ ...begun, basePath: begun.sourcePath, sourcePath: begun.basePath });

/** Undo a compaction no disk reads yet (its copy, then its row); false if a disk reads it: it must go forward. */
export async function abandonCompaction(ctx: JobContext, begun: BeginCompactResult): Promise<boolean> {
  if (!(await ctx.files.run({ type: 'compactUndo', begun, disks: disksOf(ctx, readersOf(ctx.reader, begun.sourceId)) }))) return false;
  await ctx.writer.apply({ type: 'abortCompact', op: begun.op });
  // The copy's row was a reader of the base: a GC asked while it existed (its boxes removed) kept the base.
  await ctx.requestGc([begun.sourceId]);
  return true;
}

/** Roll a journalled compaction forward (recovery): the copy is kept (a disk reads it), the rest re-run. */
export async function resumeCompaction(ctx: JobContext, begun: BeginCompactResult): Promise<WriterResults['commitCompact']> {
  const readers = readersOf(ctx.reader, begun.sourceId);
  const disk = await ctx.files.run({ type: 'compactWrite', home: ctx.layout.home, begun, disks: disksOf(ctx, readers), fsync: ctx.fsync });
  // A disk reads the copy (that is why recovery goes forward), so the step kept it and returned it.
  if (disk === null) throw new ForkpointError(ErrorCodes.CONFLICT, `compaction ${begun.op}: no disk reads its copy ${begun.basePath} any more`, { op: begun.op, path: begun.basePath });
  return finishCompaction(ctx, begun, disk, readers);
}

function withBoxLocks<T>(lock: KeyedLock, ids: string[], work: () => Promise<T>): Promise<T> {
  const [first, ...rest] = ids;
  return first === undefined ? work() : lock.run(first, () => withBoxLocks(lock, rest, work));
}
