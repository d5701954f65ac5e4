/**
 * Piscina task module: runs one FileTask in a worker thread. Thin: the file
 * logic lives in src/qcow2; this only dispatches, keeps deletions inside
 * their folders, and turns errors into data.
 */
import { chmodSync, closeSync, copyFileSync, fsyncSync, mkdirSync, openSync, realpathSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, resolve, sep } from 'node:path';
import { ErrorCodes, ForkpointError, fromFsError } from '../errors.js';
import * as qcow2 from '../qcow2/index.js';
import type { FileTask, FileTaskReply, FileTaskResults } from './file-task-types.js';

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** True when `path`'s real folder is `dir` itself (no symlink or `..` may lead elsewhere). */
function isDirectlyInside(path: string, dir: string): boolean {
  let realParent: string;
  try {
    realParent = realpathSync(dirname(path));
  } catch {
    return false;
  }
  return realParent === realpathSync(dir) && !basename(path).startsWith('.');
}

function removeBase(path: string, basesDir: string): FileTaskResults['removeBase'] {
  if (!isDirectlyInside(path, basesDir)) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `refusing to delete ${path}: not a file directly in ${basesDir}`, { path });
  }
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { removed: false };
    throw fromFsError(err, path, 'delete base');
  }
  fsyncDir(basesDir);
  return { removed: true };
}

function removeBoxDir(boxDir: string, boxesDir: string): FileTaskResults['removeBoxDir'] {
  const root = realpathSync(boxesDir);
  if (resolve(boxDir) !== resolve(root, basename(boxDir)) || basename(boxDir).startsWith('.')) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `refusing to delete ${boxDir}: not a box folder in ${boxesDir}`, { path: boxDir });
  }
  let existed = true;
  try {
    statSync(boxDir);
  } catch {
    existed = false;
  }
  // rmSync does not follow symlinks inside the tree: a link to a base is removed, not its target.
  rmSync(boxDir, { recursive: true, force: true });
  fsyncDir(root);
  return { removed: existed };
}

function importRaw(source: string, dest: string, fsync: boolean): FileTaskResults['importRaw'] {
  const size = statSync(source).size;
  try {
    copyFileSync(source, dest, 1 /* COPYFILE_EXCL: never overwrite */);
  } catch (err) {
    throw fromFsError(err, dest, 'import rootfs into');
  }
  chmodSync(dest, 0o444);
  if (fsync) {
    const fd = openSync(dest, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    fsyncDir(dirname(dest));
  }
  return { path: dest, sizeBytes: statSync(dest).blocks * 512, virtualSize: size };
}

function run(task: FileTask): unknown {
  switch (task.type) {
    case 'fork': {
      const forked = qcow2.forkQcow2(task.source, task.dest, { fsync: task.fsync });
      // The parent is the first image of the new base's chain that lives in bases/.
      const chain = qcow2.readBackingChain(forked.basePath);
      const basesReal = realpathSync(task.basesDir) + sep;
      const parent = chain.find((link) => link.path.startsWith(basesReal));
      return { ...forked, parentPath: parent?.path ?? null };
    }
    case 'writeChildren':
      for (const dir of new Set(task.children.map((c) => dirname(c)))) mkdirSync(dir, { recursive: true });
      return qcow2.writeCowChildren(task.base, task.children, { fsync: task.fsync });
    case 'flatten':
      mkdirSync(dirname(task.dest), { recursive: true });
      return qcow2.flatten(task.source, task.dest);
    case 'createImage':
      mkdirSync(dirname(task.path), { recursive: true });
      return qcow2.createImage(task.path, task.sizeBytes, { fsync: task.fsync });
    case 'importRaw':
      return importRaw(task.source, task.dest, task.fsync);
    case 'removeBase':
      return removeBase(task.path, task.basesDir);
    case 'removeBoxDir':
      return removeBoxDir(task.boxDir, task.boxesDir);
  }
}

export default function runFileTask(task: FileTask): FileTaskReply {
  try {
    return { ok: true, value: run(task) };
  } catch (err) {
    // src/qcow2 raises ForkpointErrors naming the file; anything else is an unexpected I/O failure.
    const error =
      err instanceof ForkpointError ? err : new ForkpointError(ErrorCodes.IO, `${task.type} failed: ${(err as Error).message}`, { task: task.type });
    return { ok: false, error: error.toJSON() };
  }
}
