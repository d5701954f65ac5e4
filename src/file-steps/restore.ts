/**
 * The file half of a snapshot restore: a fresh COW child of the snapshot is
 * written beside the box's disk, then renamed over it. The rename is atomic,
 * so the box reads its old disk or the restored one, never nothing; what the
 * old disk held (the writes since the snapshot) is what a restore discards.
 * The step re-runs from the start: a staged file left by an earlier attempt
 * is this op's (named by it) and is written again.
 */
import { renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCodes, ForkpointError, fromFsError } from '../errors.js';
import { faultPoint, InjectedFault } from '../faults.js';
import type { HomeLayout } from '../layout.js';
import type { BeginRestoreResult } from '../db/types.js';
import { fsyncFolder } from '../qcow2/durable.js';
import { writeCowChild } from '../qcow2/write-cow-child.js';
import { boxDiskTrick, type BoxDiskRule } from './box-disk-guard.js';
import { DISK_MODE, type StepOptions } from './steps.js';

/**
 * The rules about where the disk is (box-disk-guard.ts): a symlinked folder would put the new disk
 * outside the home. The old disk's own faults (a hard link, a chain leaving the home, even an
 * unreadable header) do not matter: it is replaced, never read or moved.
 */
const WHERE_RULES: ReadonlySet<BoxDiskRule> = new Set<BoxDiskRule>(['outside-boxes', 'symlinked-folder', 'not-a-file']);

function refuseMisplacedDisk(layout: HomeLayout, diskPath: string): void {
  let trick;
  try {
    trick = boxDiskTrick(layout, diskPath);
  } catch {
    return; // the folder checks passed; the old disk's chain could not be read, which a restore does not need
  }
  if (trick && WHERE_RULES.has(trick.rule)) {
    throw new ForkpointError(trick.code, `refusing to restore: ${trick.problem}`, { path: trick.path, disk: trick.disk, rule: trick.rule });
  }
}

export function restoreDiskStep(layout: HomeLayout, begun: BeginRestoreResult, o: StepOptions = {}): void {
  const fsync = o.fsync ?? true;
  refuseMisplacedDisk(layout, begun.diskPath);
  rmSync(begun.staged, { force: true });
  writeCowChild(begun.basePath, begun.staged, { fsync, mode: DISK_MODE });
  faultPoint('restore:after-child');
  try {
    renameSync(begun.staged, begun.diskPath);
  } catch (err) {
    rmSync(begun.staged, { force: true });
    throw fromFsError(err, begun.diskPath, 'cannot swap in the restored disk');
  }
  try {
    if (fsync) fsyncFolder(dirname(begun.diskPath));
    faultPoint('restore:after-swap');
  } catch (err) {
    // The disk is swapped already: the flow must not abort (its records would say the box reads its
    // old chain, and nothing would keep the snapshot its disk reads). `swapped` tells it to commit.
    if (err instanceof InjectedFault) throw err; // a crash: recovery rolls it forward
    const e = fromFsError(err, dirname(begun.diskPath), 'cannot flush the folder of the restored disk');
    const code = e instanceof ForkpointError ? e.code : ErrorCodes.IO;
    throw new ForkpointError(code, `restored ${begun.diskPath}, then: ${(e as Error).message}`, { path: begun.diskPath, swapped: true }, { cause: err });
  }
}

