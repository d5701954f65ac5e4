/**
 * The file half of a background compaction (workers/flows/compact.ts): write a flattened copy of
 * a deep base into bases/, then re-point the box disks that read that base at the copy. A base is
 * never edited (invariant 6), so only box disks, which are mutable, are re-pointed; bases forked
 * on top of the deep one keep their chain (it is within the cap: forks enforce it).
 *
 * Readers never see a half-written image: the copy is finished, read-only and fsynced before the
 * first disk names it, and each re-point is one header write of the disk's first sector (like
 * `qemu-img rebase -u`: the copy has the same guest bytes, so no data moves). A crash leaves every
 * disk reading either its old chain or the finished copy.
 */
import { chmodSync, rmSync } from 'node:fs';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { faultPoint } from '../faults.js';
import type { HomeLayout } from '../layout.js';
import { FlushGroup } from '../qcow2/durable.js';
import { flatten } from '../qcow2/flatten.js';
import { syncFilesystem } from '../qcow2/sync-filesystem.js';
import { backingTarget, setBackingPath, type BackingTarget } from '../qcow2/set-backing.js';
import type { BeginCompactResult, DiskInfo } from '../db/types.js';
import { boxDiskTrick } from './box-disk-guard.js';
import { diskFacts } from './disk-facts.js';
import { isBaseFile } from './paths.js';
import { BASE_MODE, childrenFlushModeStep, diskInfoOf, type StepOptions } from './steps.js';

/** Whether any of `disks` reads the copy already: then the copy was finished (and fsynced) by an earlier attempt. */
export function compactionStarted(begun: BeginCompactResult, disks: readonly string[]): boolean {
  return disks.some((d) => {
    const f = diskFacts(d);
    return f.state === 'valid' && f.backing === begun.basePath;
  });
}

/**
 * Write the copy, from scratch unless a disk reads it already: a copy no disk reads yet may be a
 * cut-off write (flatten writes its header last, but without an fsync a crash can keep the header
 * and lose data), so it is never trusted, only made again.
 */
export function compactWriteStep(layout: HomeLayout, begun: BeginCompactResult, disks: readonly string[], o: StepOptions = {}): DiskInfo | null {
  for (const p of [begun.basePath, begun.sourcePath]) {
    if (!isBaseFile(layout, p)) throw new ForkpointError(ErrorCodes.CONFLICT, `compaction: ${p} is not a base file in ${layout.basesDir}`, { path: p });
  }
  if (!compactionStarted(begun, disks)) {
    // A copy no disk could be re-pointed at is a full copy for nothing: null, and the flow gives up.
    if (!disks.some((d) => repointableDisk(layout, begun, d))) return null;
    rmSync(begun.basePath, { force: true });
    flatten(begun.sourcePath, begun.basePath, { fsync: o.fsync ?? true, mode: BASE_MODE });
    faultPoint('compact:after-copy');
  }
  chmodSync(begun.basePath, BASE_MODE);
  return diskInfoOf(begun.basePath);
}

/** A disk that reads the compacted base and that no rule forbids us to rewrite (`facts`: its diskFacts, when read already). */
function repointableDisk(layout: HomeLayout, begun: BeginCompactResult, disk: string, facts = diskFacts(disk)): boolean {
  return facts.state === 'valid' && facts.backing === begun.sourcePath && !boxDiskTrick(layout, disk);
}

/**
 * Re-point each disk that reads the compacted base at the copy; returns the disks that read the
 * copy now (those re-pointed by an earlier attempt included). A disk that reads something else (it
 * was forked or removed meanwhile) or that no fork may take (box-disk-guard.ts: rewriting a hard
 * link's header would write outside the home) is left as it is.
 *
 * With fsync the rewritten headers are made durable together, as a batch's children are (one
 * syncfs, or all the fsyncs in flight at once: childrenFlushModeStep), and the promise resolves
 * only then: the commit that records them comes after. An fsync each (and a 64 KiB header read)
 * took ~1 ms a disk under the boxes' locks: compacting the base of a 2,000-box clone held the next
 * clone of its source for 2.5 s. A power cut before the flush leaves each disk reading its old
 * chain or the copy, the same guest bytes either way.
 */
export async function compactRepointStep(layout: HomeLayout, begun: BeginCompactResult, disks: readonly string[], o: StepOptions = {}): Promise<string[]> {
  // As a batch's children: one syncfs of the home's filesystem while little else is dirty, else the fsyncs in flight together.
  const mode = (o.fsync ?? true) ? childrenFlushModeStep() : null;
  const group = mode === 'fsync' ? new FlushGroup() : null;
  let target: BackingTarget | undefined; // the copy, checked once for every disk (on the first that needs it)
  const done: string[] = [];
  for (const disk of disks) {
    const facts = diskFacts(disk);
    if (facts.state !== 'valid') continue;
    if (facts.backing === begun.basePath) {
      group?.add(disk); // an earlier attempt's rewrite may never have been flushed
      done.push(disk);
      continue;
    }
    if (!repointableDisk(layout, begun, disk, facts)) continue;
    target ??= backingTarget(begun.basePath, 'qcow2');
    setBackingPath(disk, begun.basePath, { backingFormat: 'qcow2', fsync: false, target });
    group?.add(disk);
    done.push(disk);
    faultPoint('compact:after-repoint');
  }
  await group?.done();
  if (mode === 'syncfs' && done.length > 0) syncFilesystem(layout.boxesDir);
  return done;
}

/** A compaction that re-pointed nothing: remove its copy (only the journalled path). */
export function removeCompactionCopy(begun: BeginCompactResult): void {
  rmSync(begun.basePath, { force: true });
}
