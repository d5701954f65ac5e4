/**
 * Piscina task module: runs one FileTask in a worker thread. Thin on
 * purpose: the file logic is in src/file-steps/ and the
 * qcow2 engine; this only dispatches and turns errors into data.
 */
import { fstatSync, mkdirSync, rmSync } from 'node:fs';
import { lstat, rmdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ociInstallStep, ociUndoStep } from '../file-steps/oci-import.js';
import { readLayoutImage } from '../oci/read-layout.js';
import { compactionStarted, compactRepointStep, compactWriteStep, removeCompactionCopy } from '../file-steps/compact.js';
import { resumeForkStep, undoIfNothingMoved } from '../file-steps/fork-progress.js';
import { childrenFlushModeStep, cloneChildrenStep, DISK_MODE, flushChildrenStep, forkModeFor, importRawStep, unlinkBaseStep } from '../file-steps/steps.js';
import { homeModes } from '../runtime/home-mode.js';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { faultPoint, InjectedFault } from '../faults.js';
import { boxDir, boxDiskPath, boxDisksDir, homeLayout, type HomeLayout } from '../layout.js';
import { parseBoxId } from '../names.js';
import { fsyncFolder } from '../qcow2/durable.js';
import { assertImageNotInUse, createImage, flatten } from '../qcow2/index.js';
import { restoreDiskStep } from '../file-steps/restore.js';
import { admitOpenedImport, confineImport } from '../file-steps/import-path.js';
import { refuseForeignHardLink } from '../qcow2/hard-links.js';
import { sameBytes } from '../file-steps/raw-files.js';
import type { FileTask, FileTaskReply, FileTaskResults, ImportConfinement } from './file-task-types.js';
import { mapLimit } from './map-limit.js';
import { homeBackings } from './recovery/backing-readers.js';

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
      // Async: the group flush keeps many fsyncs in flight (file-steps/steps.ts).
      return cloneChildrenStep(task.base, task.children, { fsync: task.fsync }).then(() => null);
    case 'childrenFlushMode':
      return childrenFlushModeStep();
    case 'flushChildren':
      return flushChildrenStep(task.children).then(() => null);
    case 'flatten': {
      makeFreshBoxDir(task.boxDir, task.dest); // first: it refuses a folder that is not ours, which a failure must not remove
      const c = task.confine;
      if (c) confined(task.source, c);
      faultPoint('import:after-check');
      // And every layer as opened: flatten reads only the files admitted here, by their fds.
      const admit = c && admitOpenedImport(homeLayout(c.home), task.source, c.importDirs, c.field);
      const r = flatten(task.source, task.dest, { fsync: task.fsync, mode: DISK_MODE, ...(admit ? { admit } : {}) });
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
      faultPoint('import:after-check');
      // And the file as opened: a name swapped since the check (for a device, say) is refused.
      const opened = (real: string, fd: number) => {
        confined(real, c!);
        refuseForeignHardLink(fstatSync(fd).nlink, task.source, c!.field);
      };
      return importRawStep(task.source, task.dest, { fsync: task.fsync, ...(c ? { opened } : {}) });
    }
    case 'removeBase':
      unlinkBaseStep(homeLayout(task.home), task.path, { fsync: task.fsync });
      return null;
    case 'homeBackings':
      return homeBackings(homeLayout(task.home));
    case 'restoreDisk':
      restoreDiskStep(homeLayout(task.home), task.begun, { fsync: task.fsync });
      return null;
    case 'checkNotInUse':
      assertImageNotInUse(task.path);
      return null;
    case 'ociRead': {
      const c = task.confine;
      if (c) confined(join(task.dir, 'oci-layout'), c);
      faultPoint('import:after-check');
      // And the folder as the read resolves it: one swapped for a symlink since the check is refused.
      return readLayoutImage(task.dir, task.tag, c ? { admitDir: (real) => confined(join(real, 'oci-layout'), c) } : {});
    }
    case 'ociInstall':
      return ociInstallStep(homeLayout(task.home), task.image, task.begun, { fsync: task.fsync });
    case 'ociUndo':
      ociUndoStep(homeLayout(task.home), task.begun);
      return null;
    case 'compactWrite':
      return compactWriteStep(homeLayout(task.home), task.begun, task.disks, { fsync: task.fsync });
    case 'compactRepoint':
      return compactRepointStep(homeLayout(task.home), task.begun, task.disks, { fsync: task.fsync });
    case 'compactUndo':
      if (compactionStarted(task.begun, task.disks)) return false;
      removeCompactionCopy(task.begun);
      return true;
    case 'removeBoxDir': {
      // parseBoxId again: whatever reached this thread, it cannot name a folder outside boxes/.
      const layout = homeLayout(task.home);
      return removeBoxFolder(layout, parseBoxId(task.boxId)).then(() => {
        fsyncFolder(layout.boxesDir);
        return null;
      });
    }
    case 'removeBoxDirs':
      return removeBoxFolders(homeLayout(task.home), task);
  }
}

/** Folders one removeBoxDirs task keeps in flight: their unlink/rmdir wait on the journal, not the CPU (one after another: the 2,000-box job took ~580 ms, 351–420 ms with 16; README "Performance"). */
const REMOVALS_IN_FLIGHT = 16;

async function removeBoxFolders(layout: HomeLayout, task: Extract<FileTask, { type: 'removeBoxDirs' }>): Promise<FileTaskResults['removeBoxDirs']> {
  const failed: FileTaskResults['removeBoxDirs']['failed'] = [];
  const removeOne = async (boxId: string) => {
    try {
      await removeBoxFolder(layout, parseBoxId(boxId));
    } catch (err) {
      failed.push({ boxId, error: asTaskError(err, task).toJSON() });
    }
  };
  const [first, ...rest] = task.boxIds;
  if (first !== undefined) {
    await removeOne(first);
    faultPoint('remove-boxes:after-first'); // a crash with some folders gone, none flushed
  }
  await mapLimit(rest, REMOVALS_IN_FLIGHT, removeOne); // removeOne records its failure: every folder is tried
  // One flush for every folder this task removed: a row is deleted only once its folder's removal is durable.
  fsyncFolder(layout.boxesDir);
  return { failed };
}

export default async function runFileTask(task: FileTask): Promise<FileTaskReply> {
  try {
    return { ok: true, value: await run(task) };
  } catch (err) {
    // A crash point armed in a step (tests) is a crash, not a failure: it must not read as one.
    if (err instanceof InjectedFault) throw err;
    return { ok: false, error: asTaskError(err, task).toJSON() };
  }
}

/**
 * A box's folder and everything in it. The usual folder holds only its disk: unlink and two rmdir
 * (after checking that neither folder is a symlink, which the unlink would follow out of the
 * home) instead of rmSync's walk (a readdir per level and more): 12 µs instead of 48 µs per box
 * on tmpfs, measured (a bulk removal does thousands). Anything else (a guest's extra files, a
 * symlink, a half-removed folder) takes rmSync, which never follows a link.
 */
async function removeBoxFolder(layout: HomeLayout, boxId: string): Promise<void> {
  try {
    if (!(await lstat(boxDir(layout, boxId))).isDirectory() || !(await lstat(boxDisksDir(layout, boxId))).isDirectory()) throw new Error('not plain folders');
    await unlink(boxDiskPath(layout, boxId));
    await rmdir(boxDisksDir(layout, boxId));
    await rmdir(boxDir(layout, boxId));
  } catch {
    rmSync(boxDir(layout, boxId), { recursive: true, force: true });
  }
}

/** The steps raise ForkpointErrors naming the file; anything else is an unexpected I/O failure. */
function asTaskError(err: unknown, task: FileTask): ForkpointError {
  return err instanceof ForkpointError ? err : new ForkpointError(ErrorCodes.IO, `${task.type} failed: ${(err as Error).message}`, { task: task.type });
}
