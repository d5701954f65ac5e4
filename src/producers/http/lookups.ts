/**
 * What routes check before queueing besides the shared lookups (src/db/lookups.ts,
 * the ones the flows use too): a body file on the server, a retried op.
 */
import { stat } from 'node:fs/promises';
import { ErrorCodes, ForkpointError, isForkpointError } from '../../errors.js';
import type { JobName } from '../../contract/jobs.js';
import { opJobId } from '../../contract/queues.js';
import { confineImport } from '../../file-steps/import-path.js';
import type { HttpContext } from './context.js';
import { withHttpStatus } from './errors.js';

/**
 * A server file named in the body (`fromImage`, a rootfs `image`) that is not
 * there is refused before anything is queued. The code stays E_NOT_FOUND, the
 * one the CLI and the job give for a missing image (scripts switch on codes),
 * but the answer is 422, not its code's 404: a 404 says the URL names nothing,
 * and here the URL is fine and the body names a file the server cannot use (the
 * status a bad image gets too). A service also refuses a file outside its import
 * folders (E_FORBIDDEN, 403), backing chain included. Everything else about the
 * file (the wrong format, a damaged header) is the job's to find, as for the CLI.
 */
const MISSING_BODY_FILE_STATUS = 422;

export async function withBodyFile<T>(ctx: Pick<HttpContext, 'layout' | 'pipeline'>, field: string, path: string, queue: () => Promise<T>): Promise<T> {
  try {
    // A service confines what it reads for a caller (invariant 7); the job checks again before reading.
    const importDirs = ctx.pipeline.importDirs;
    if (importDirs) confineImport(ctx.layout, path, importDirs, field);
    await stat(path);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (isForkpointError(err) && !isForkpointError(err, ErrorCodes.NOT_FOUND)) throw err;
    if (isForkpointError(err, ErrorCodes.NOT_FOUND) || errno === 'ENOENT' || errno === 'ENOTDIR') {
      // What is missing may be a file of its backing chain (confineImport walks it): that one is named.
      const gone = isForkpointError(err) && typeof err.details.path === 'string' ? err.details.path : path;
      const what = gone === path ? `${path}: no such file on the server` : `${path}: its backing file ${gone} is not on the server`;
      const missing = new ForkpointError(ErrorCodes.NOT_FOUND, `bad request body: ${field}: ${what}`, { field, in: 'body', path: gone }, { cause: err });
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
