/**
 * A file the CLI names, handed to a service with the caller's own rights. A
 * service reads only from its import folders (invariant 7), so a file outside
 * them is copied in by this process, as the user who ran it: a qcow2 image
 * is flattened into a standalone copy (its backing chain read here, with
 * these rights), a raw image copied. The copy goes once the job is over.
 * Without a service (the CLI runs its own pipeline) the file is read as it is.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { ErrorCodes, ForkpointError, fromFsError, isForkpointError } from '../../errors.js';
import { flatten } from '../../qcow2/flatten.js';
import type { Session } from './session.js';

/**
 * A file or folder a command names is there before a home is made for the command: a missing
 * one is E_NOT_FOUND naming it, and a mistyped path on a new home leaves no home behind.
 * Anything else wrong with it is the job's to say.
 */
export function refuseMissing(path: string): void {
  try {
    statSync(path);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT' || errno === 'ENOTDIR') throw fromFsError(err, path, 'cannot read');
  }
}

function insideImportDirs(path: string, dirs: readonly string[]): boolean {
  try {
    const real = realpathSync.native(path);
    return dirs.some((d) => real.startsWith(d.endsWith(sep) ? d : d + sep));
  } catch {
    return false; // missing: let the job say so
  }
}

/**
 * `op`: the request's op. The copy is then named after it, so the same request run again (after a
 * crash or Ctrl-C) names the same file in its payload and joins its job, instead of being refused
 * as another request under that op; a copy such a run left behind is ours, and is made again.
 */
export async function handOver<T>(s: Pick<Session, 'importDirs'>, path: string, kind: 'qcow2' | 'raw', use: (served: string) => Promise<T>, op?: string): Promise<T> {
  const dirs = s.importDirs;
  if (!dirs || dirs.length === 0 || insideImportDirs(path, dirs)) return use(path);
  const tag = op ?? `${process.pid}-${randomBytes(6).toString('hex')}`;
  const dest = join(dirs[0]!, `.handover-${tag}.${kind === 'raw' ? 'img' : 'qcow2'}`);
  if (op !== undefined) rmSync(dest, { force: true });
  try {
    if (kind === 'raw') copyFileSync(path, dest, 1 /* COPYFILE_EXCL */);
    else flatten(path, dest, { fsync: false }); // the job copies it again, durably
    chmodSync(dest, 0o600);
  } catch (err) {
    rmSync(dest, { force: true });
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno === 'EACCES' || errno === 'EPERM') {
      throw new ForkpointError(
        ErrorCodes.FORBIDDEN,
        `cannot hand ${path} to the service: its import folder ${dirs[0]} is not writable by this user; copy the file there as the service's user, or upload it over HTTP`,
        { path: dirs[0] },
        { cause: err },
      );
    }
    if (isForkpointError(err)) throw err;
    throw new ForkpointError(ErrorCodes.IO, `cannot hand ${path} to the service: ${(err as Error).message}`, { path }, { cause: err });
  }
  try {
    return await use(dest);
  } finally {
    rmSync(dest, { force: true });
  }
}
