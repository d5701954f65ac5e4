/**
 * Piscina task module: runs one FileTask in a worker thread. Thin on
 * purpose: the file logic is in src/file-steps/ and the
 * qcow2 engine; this only dispatches and turns errors into data.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { resumeForkStep, undoIfNothingMoved } from '../file-steps/fork-progress.js';
import { cloneChildrenStep, DISK_MODE, forkModeFor, importRawStep, unlinkBaseStep } from '../file-steps/steps.js';
import { homeModes } from '../runtime/home-mode.js';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { InjectedFault } from '../faults.js';
import { boxDir, homeLayout } from '../layout.js';
import { parseBoxId } from '../names.js';
import { fsyncFolder } from '../qcow2/durable.js';
import { createImage, flatten } from '../qcow2/index.js';
import { confineImport } from '../file-steps/import-path.js';
import { sameBytes } from '../file-steps/raw-files.js';
import type { FileTask, FileTaskReply, ImportConfinement } from './file-task-types.js';

/** Create the box folder (refused if it exists: not ours) and the disk's folder inside it. */
function makeFreshBoxDir(boxDir: string, disk: string): void {
  const mode = homeModes().dir; // nothing in a home is readable by other users (invariant 7)
  mkdirSync(dirname(boxDir), { recursive: true, mode });
  try {
    mkdirSync(boxDir, { mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw new ForkpointError(ErrorCodes.ALREADY_EXISTS, `${boxDir} already exists but belongs to no box record; left untouched (see forkpoint check)`, {
      path: boxDir,
    });
  }
  mkdirSync(dirname(disk), { recursive: true, mode });
}

const confined = (path: string, c: ImportConfinement) => confineImport(homeLayout(c.home), path, c.importDirs, c.field);

function run(task: FileTask): unknown {
  switch (task.type) {
    case 'ping':
      return null;
    case 'forkMode':
      return forkModeFor(homeLayout(task.home), task.diskPath);
    case 'fork':
      return resumeForkStep(homeLayout(task.home), task.begun, { fsync: task.fsync });
    case 'undoFork':
      return undoIfNothingMoved(task.begun);
    case 'writeChildren':
      cloneChildrenStep(task.base, task.children, { fsync: task.fsync });
      return null;
    case 'flatten': {
      makeFreshBoxDir(task.boxDir, task.dest); // first: it refuses a folder that is not ours, which a failure must not remove
      if (task.confine) confined(task.source, task.confine);
      const r = flatten(task.source, task.dest, { fsync: task.fsync, mode: DISK_MODE });
      return { path: r.path, virtualSize: r.virtualSize };
    }
    case 'createImage': {
      makeFreshBoxDir(task.boxDir, task.path);
      const r = createImage(task.path, task.sizeBytes, { fsync: task.fsync, mode: DISK_MODE });
      return { path: task.path, virtualSize: r.virtualSize };
    }
    case 'sameBytes': {
      const c = task.confine;
      if (c) confined(task.path, c);
      return sameBytes(task.path, task.as, c && ((real) => confined(real, c)));
    }
    case 'checkImport':
      confined(task.path, task.confine);
      return null;
    case 'importRaw': {
      const c = task.confine;
      if (c) confined(task.source, c);
      // And the file as opened: a name swapped since the check (for a device, say) is refused.
      return importRawStep(task.source, task.dest, { fsync: task.fsync, ...(c ? { opened: (real: string) => confined(real, c) } : {}) });
    }
    case 'removeBase':
      unlinkBaseStep(homeLayout(task.home), task.path, { fsync: task.fsync });
      return null;
    case 'removeBoxDir': {
      // parseBoxId again: whatever reached this thread, it cannot name a folder outside boxes/.
      const layout = homeLayout(task.home);
      rmSync(boxDir(layout, parseBoxId(task.boxId)), { recursive: true, force: true });
      fsyncFolder(layout.boxesDir);
      return null;
    }
  }
}

export default function runFileTask(task: FileTask): FileTaskReply {
  try {
    return { ok: true, value: run(task) };
  } catch (err) {
    // A crash point armed in a step (tests) is a crash, not a failure: it must not read as one.
    if (err instanceof InjectedFault) throw err;
    // The steps raise ForkpointErrors naming the file; anything else is an unexpected I/O failure.
    const error =
      err instanceof ForkpointError ? err : new ForkpointError(ErrorCodes.IO, `${task.type} failed: ${(err as Error).message}`, { task: task.type });
    return { ok: false, error: error.toJSON() };
  }
}
