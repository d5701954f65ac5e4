/** "Does it exist?" checks routes make before queueing, so an unknown id is a 404 and nothing is queued. */
import { stat } from 'node:fs/promises';
import type { DbReader } from '../../db/reader.js';
import type { BaseDiskRecord, BoxRecord } from '../../db/types.js';
import { ErrorCodes, ForkpointError, isForkpointError } from '../../errors.js';
import type { JobName } from '../jobs.js';
import { opJobId } from '../queues.js';
import type { HttpContext } from './context.js';
import { withHttpStatus } from './errors.js';

export function requireBox(reader: DbReader, id: string, field = 'id'): BoxRecord {
  const box = reader.findBox(id);
  if (!box) throw new ForkpointError(ErrorCodes.UNKNOWN_BOX, `no box "${id}"`, { field, id });
  return box;
}

/** A box that would be created must not exist yet (the job would refuse it too, after queueing). */
export function refuseExistingBox(reader: DbReader, id: string, field: string): void {
  if (reader.findBox(id)) throw new ForkpointError(ErrorCodes.ALREADY_EXISTS, `box "${id}" already exists`, { field, id });
}

export function requireBase(reader: DbReader, id: string, field = 'id'): BaseDiskRecord {
  const base = reader.findBase(id);
  if (!base) throw new ForkpointError(ErrorCodes.UNKNOWN_BASE, `no base "${id}"`, { field, id });
  return base;
}

export function requireRootfs(reader: DbReader, key: string, field = 'rootfs'): BaseDiskRecord {
  const found = reader.findRootfs(key);
  if (!found) throw new ForkpointError(ErrorCodes.UNKNOWN_BASE, `no rootfs "${key}"`, { field, id: key });
  return found;
}

/** The snapshots called `name` (of one box, if given); 404 when there are none. */
export function requireSnapshot(reader: DbReader, name: string, boxId?: string): BaseDiskRecord[] {
  const found = reader.findSnapshotsByName(name).filter((s) => boxId === undefined || s.sourceBoxId === boxId);
  if (found.length === 0) {
    const of = boxId === undefined ? '' : ` of box "${boxId}"`;
    throw new ForkpointError(ErrorCodes.UNKNOWN_SNAPSHOT, `no snapshot "${name}"${of}`, { field: 'name', id: name });
  }
  return found;
}

/**
 * A server file named in the body (`fromImage`, a rootfs `image`) that is not
 * there is refused before anything is queued. The code stays E_NOT_FOUND, the
 * one the CLI and the job give for a missing image (scripts switch on codes),
 * but the answer is 422, not its code's 404: a 404 says the URL names nothing,
 * and here the URL is fine and the body names a file the server cannot use (the
 * status a bad image gets too). Only absence is checked here; everything else
 * about the file (a folder, the wrong format, a missing backing file) is the job's
 * to find, as for the CLI.
 */
const MISSING_BODY_FILE_STATUS = 422;

export async function withBodyFile<T>(field: string, path: string, queue: () => Promise<T>): Promise<T> {
  try {
    await stat(path);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT' || errno === 'ENOTDIR') {
      const missing = new ForkpointError(ErrorCodes.NOT_FOUND, `bad request body: ${field}: ${path}: no such file on the server`, { field, in: 'body', path }, { cause: err });
      throw withHttpStatus(missing, MISSING_BODY_FILE_STATUS);
    }
  }
  try {
    return await queue();
  } catch (err) {
    // With ?wait=1 the job's own E_NOT_FOUND (the file went between this check and the job, or a
    // file in its backing chain is missing) is the same problem with the body: the same 422.
    if (isForkpointError(err, ErrorCodes.NOT_FOUND)) throw withHttpStatus(err, MISSING_BODY_FILE_STATUS);
    throw err;
  }
}

/**
 * A request retried under the `op` of one already queued joins that job (the
 * client checks the payload is the same request). Its pre-checks would now
 * refuse it ("box already exists": the first request made it), so a route
 * skips them when this says the op has a job.
 */
export async function isRetryOfQueuedOp(ctx: Pick<HttpContext, 'client'>, name: JobName, op: string | undefined): Promise<boolean> {
  return op !== undefined && (await ctx.client.getJob('ops', opJobId(name, op))) !== null;
}
