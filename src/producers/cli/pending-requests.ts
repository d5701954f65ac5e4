/**
 * Which op a mutating CLI command runs under, so that running the same command
 * again after any crash (of the command, of `serve`, of its Redis) is the same
 * request: it joins the job if its Redis still has it, or runs it again under
 * the same op, and the flows resume the op (attach-children.ts: what this op
 * made is kept, what recovery undid is made again, anybody else's box is
 * refused).
 *
 * The request's key is a hash of the command and its arguments as typed (for
 * `clone SOURCE --count N --prefix P`: source, count and prefix, so the names a
 * random default prefix gets are derived from the op too). Its op is minted on
 * the first run and kept in `<home>/run/requests/<key>.json` until the command
 * sees the request succeed: the same command after a success is a new request
 * (after `box rm` of its boxes, say, it clones them again, from the source as it
 * is then). A request left unfinished for more than 7 days is forgotten. An
 * explicit `--op` replaces all of this.
 */
import { fromFsError } from '../../errors.js';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../../canonical-json.js';

const FORGET_AFTER_MS = 7 * 24 * 3600 * 1000;

export interface PendingRequest {
  op: string;
  /** The op was minted by an earlier run of the same command that did not see its end. */
  resumed: boolean;
  key: string;
}

const requestsDir = (runDir: string) => join(runDir, 'requests');

export function requestKey(command: string, args: unknown): string {
  return createHash('sha256').update(canonicalJson({ command, args })).digest('hex').slice(0, 32);
}

/** The op of this request: the one an unfinished earlier run left, or a new one (written down before anything is queued). */
export function requestOp(runDir: string, command: string, args: unknown): PendingRequest {
  const key = requestKey(command, args);
  const file = join(requestsDir(runDir), `${key}.json`);
  try {
    if (Date.now() - statSync(file).mtimeMs < FORGET_AFTER_MS) {
      const { op } = JSON.parse(readFileSync(file, 'utf8')) as { op?: unknown };
      if (typeof op === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(op)) return { op, resumed: true, key };
    }
  } catch {
    // none yet (or unreadable): a new request
  }
  const op = `cli-${randomUUID().replaceAll('-', '')}`;
  try {
    mkdirSync(requestsDir(runDir), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${JSON.stringify({ op, command, args, startedAt: new Date().toISOString() })}\n`, { mode: 0o600 });
  } catch (err) {
    rmSync(file, { force: true }); // a half-written one (a full disk) would be read as no request at all
    throw fromFsError(err, file, 'cannot write down the request');
  }
  return { op, resumed: false, key };
}

/** The request succeeded: the same command is a new request from now on. */
export function forgetRequest(runDir: string, key: string): void {
  rmSync(join(requestsDir(runDir), `${key}.json`), { force: true });
}
