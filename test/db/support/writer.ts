/** Shared set-up for the db tests: a writer on a fresh home, and boxes registered the way the pipeline does it. */
import { afterEach } from 'vitest';
import { openWriter, type DbWriter, type WriterOptions } from '../../../src/db/writer.js';
import { useTmpDirs } from '../../helpers/tmp.js';

let opCounter = 0;
/** A fresh, unique operation id. */
export const nextOp = (label = 'op'): string => `${label}-${++opCounter}`;

/** Returns a factory for writers on fresh homes; all are closed after each test. */
export function useWriters(): (options?: WriterOptions) => DbWriter {
  const tmp = useTmpDirs('forkpoint-db-');
  const open: DbWriter[] = [];
  afterEach(() => {
    for (const w of open.splice(0)) w.close();
  });
  return (options) => {
    const w = openWriter(tmp(), options);
    open.push(w);
    return w;
  };
}

/** Register a ready box with no base (a fresh image), as createBox + commitBox. */
export function readyBox(w: DbWriter, boxId: string, baseId: string | null = null): void {
  w.apply({ type: 'createBox', op: nextOp('create'), boxId, baseId });
  w.apply({ type: 'commitBox', op: nextOp('commit'), boxId });
}

/** Run a whole fork through the writer only (no files): the record flow of a clone or snapshot. */
export function forkRecords(
  w: DbWriter,
  sourceBox: string,
  opts: { kind?: 'snapshot' | 'clone_base'; name?: string; targets?: string[]; parentId?: string | null } = {},
): string {
  const op = nextOp('fork');
  const begun = w.apply({
    type: 'beginFork',
    op,
    sourceBox,
    kind: opts.kind ?? 'clone_base',
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(opts.targets ? { targets: opts.targets } : {}),
  });
  w.apply({
    type: 'commitFork',
    op,
    disk: { basePath: begun.basePath, containerDiskBytes: 1 << 20, sizeBytes: 4096 },
    parentId: opts.parentId ?? null,
  });
  if (opts.targets?.length) w.apply({ type: 'addRefs', op: `${op}-refs`, baseId: begun.baseId, boxIds: opts.targets });
  return begun.baseId;
}

/** Remove a box's records the way the remove-box job does (removeBox, the folder, finishRemoveBox), minus the folder. */
export function removeBoxRecords(w: DbWriter, boxId: string) {
  const removed = w.apply({ type: 'removeBox', op: nextOp('remove'), boxId });
  w.apply({ type: 'finishRemoveBox', boxId });
  return removed;
}
