/**
 * How far a journalled fork got, read from the files alone, and how to go
 * on from there. One answer for every caller that meets a half-done fork:
 * recovery at start-up, a job retried by BullMQ, a fork step that failed
 * part-way. The rule that keeps invariant 2: a fork may be aborted (records
 * dropped) only while the source still holds its own disk; once the base
 * holds the box's bytes, the fork can only go forward.
 */
import { chmodSync, rmSync } from 'node:fs';
import { ErrorCodes, ForkpointError } from '../errors.js';
import type { HomeLayout } from '../layout.js';
import { writeCowChild } from '../qcow2/write-cow-child.js';
import type { BeginForkResult, DiskInfo } from '../db/types.js';
import { assertBoxDiskSafe } from './box-disk-guard.js';
import { diskFacts } from './disk-facts.js';
import { findParentBase } from './paths.js';
import { BASE_MODE, DISK_MODE, diskInfoOf, forkFlattenStep, forkMoveStep, type StepOptions } from './steps.js';

export type ForkProgress =
  /** Nothing moved: the source holds its disk and no base file exists. Abort is safe. */
  | { stage: 'not-started' }
  /** Only our own leftovers in bases/ (a cut-off copy or flatten); the source holds its disk. Clean up, then as not-started. */
  | { stage: 'leftovers' }
  /** The base holds the box's bytes; the source's child is missing or half-written. Write it, then commit. */
  | { stage: 'moved' }
  /** On disk the fork is complete (the source is a child of the base). Commit. */
  | { stage: 'finished' }
  /** Something no rule covers (e.g. the base file is damaged and the source is gone): a person must look. */
  | { stage: 'stuck'; why: string };

export function forkProgress(begun: BeginForkResult): ForkProgress {
  const src = diskFacts(begun.sourceDiskPath);
  if (src.state === 'valid' && src.backing === begun.basePath) return { stage: 'finished' };
  const base = diskFacts(begun.basePath);
  if (begun.mode === 'flatten') {
    // The source is only ever swapped whole (rename of a finished child), so anything short of finished is leftovers.
    if (src.state !== 'valid') return { stage: 'stuck', why: `flattening fork: ${begun.sourceDiskPath} is ${src.state}` };
    return base.state === 'missing' ? { stage: 'not-started' } : { stage: 'leftovers' };
  }
  if (base.state === 'missing') {
    return src.state === 'missing' ? { stage: 'stuck', why: `both ${begun.sourceDiskPath} and ${begun.basePath} are missing` } : { stage: 'not-started' };
  }
  // A valid source that is not our child still holds the original disk: the base file is a cut-off copy (EXDEV).
  if (src.state === 'valid') return { stage: 'leftovers' };
  if (base.state === 'invalid') return { stage: 'stuck', why: `the moved disk ${begun.basePath} is damaged (${base.why}) and the source is ${src.state}` };
  return { stage: 'moved' };
}

/** Remove a fork's own leftovers (only the journalled base path and the flatten staging file). */
export function removeForkLeftovers(begun: BeginForkResult): void {
  rmSync(`${begun.sourceDiskPath}.${begun.baseId}.new`, { force: true });
  rmSync(begun.basePath, { force: true });
}

/**
 * The fork's file half, from wherever it stopped: safe to run again after a
 * failure, a crash or a retry. Returns what commitFork records.
 */
export function resumeForkStep(layout: HomeLayout, begun: BeginForkResult, o: StepOptions = {}): DiskInfo & { parentPath: string | null } {
  const progress = forkProgress(begun);
  // Before anything moves (leftovers included): a disk no fork may take is refused, and the fork undone.
  if (progress.stage === 'not-started' || progress.stage === 'leftovers') assertBoxDiskSafe(layout, begun.sourceDiskPath);
  switch (progress.stage) {
    case 'stuck':
      throw new ForkpointError(ErrorCodes.CONFLICT, `fork of ${begun.sourceDiskPath} into ${begun.basePath} cannot go on: ${progress.why}`, {
        path: begun.basePath,
        id: begun.baseId,
      });
    case 'leftovers':
      removeForkLeftovers(begun);
    // fall through: now nothing has moved
    case 'not-started':
      if (begun.mode === 'flatten') return { ...forkFlattenStep(begun, o), parentPath: null };
      return forkMoveStep(layout, begun, o); // it read the header and walked the chain already
    case 'moved':
      rmSync(begun.sourceDiskPath, { force: true }); // a half-written child of ours, or nothing
      writeCowChild(begun.basePath, begun.sourceDiskPath, { fsync: o.fsync ?? true, mode: DISK_MODE });
      chmodSync(begun.basePath, BASE_MODE);
      break;
    case 'finished':
      chmodSync(begun.basePath, BASE_MODE);
      break;
  }
  return { ...diskInfoOf(begun.basePath), parentPath: begun.mode === 'flatten' ? null : findParentBase(layout, begun.basePath) };
}

/**
 * After a fork step failed (not a crash): undo it if nothing moved, and say
 * so; otherwise leave the journal as it is for a retry or recovery to finish.
 */
export function undoIfNothingMoved(begun: BeginForkResult): boolean {
  const progress = forkProgress(begun);
  if (progress.stage === 'leftovers') removeForkLeftovers(begun);
  return progress.stage === 'not-started' || progress.stage === 'leftovers';
}

/**
 * The base the source read before this fork: where a flatten's GC starts (its
 * old chain hangs below it). beginFork journals it; for journals older than
 * that, `sourceBaseBefore` is the source row's base as read before the commit
 * (after it, the row names the new base, which is never the answer).
 */
export function previousBaseOf(begun: BeginForkResult, sourceBaseBefore: string | null | undefined): string | null {
  const previous = begun.previousBaseId !== undefined ? begun.previousBaseId : (sourceBaseBefore ?? null);
  return previous === begun.baseId ? null : previous;
}
