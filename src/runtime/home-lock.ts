/**
 * Exactly one pipeline owns a home (one DB writer, one set of queue workers).
 * The lock is an exclusive SQLite lock on `<home>/run/owner.lock`, held for
 * the life of the process: the kernel drops it when the process dies, even by
 * kill -9, so there is no stale lock to clean up and no PID to guess about.
 * `owner.json` beside it says who holds it, for the refusal message and so a
 * CLI can find the running service's Redis.
 */
import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, ForkpointError, fromFsError } from '../errors.js';

export interface OwnerInfo {
  pid: number;
  kind: 'serve' | 'cli';
  /** The Redis the owner's workers consume from. */
  redisUrl: string;
  /** The queue prefix they consume under (a client must enqueue under the same one). */
  prefix?: string;
  /** The owner's Redis is the home's private redis-server. */
  redisEmbedded?: boolean;
  /** That private redis-server keeps its data in the home (AOF), so its queued jobs outlive the owner. */
  redisPersistent?: boolean;
  homeId: string;
  /** The owner's pid namespace (`/proc/self/ns/pid`): its pid means nothing in another (a container sharing the home). */
  pidNs?: string;
  /** The folders a `serve` owner reads request files from (a CLI copies files there to hand them over). */
  importDirs?: string[];
  /** HTTP address when the owner is `serve` with an API. */
  httpUrl?: string;
  startedAt: string;
}

export interface HomeLock {
  readonly owner: OwnerInfo;
  update(patch: Partial<OwnerInfo>): void;
  /** Let go; `stopped`: this owner stops cleanly (serve), recorded for commands that wait on it (readCleanStop). */
  release(o?: { stopped?: boolean }): void;
}

/** Who is taking the home now: this process, as `kind`. The Redis is filled in once known. */
export function ownerNow(kind: OwnerInfo['kind'], homeId: string, redisUrl = ''): OwnerInfo {
  const ns = pidNamespace();
  return { pid: process.pid, kind, redisUrl, homeId, ...(ns ? { pidNs: ns } : {}), startedAt: new Date().toISOString() };
}

let ourPidNs: string | null | undefined;
function pidNamespace(): string | null {
  if (ourPidNs === undefined) {
    try {
      ourPidNs = readlinkSync('/proc/self/ns/pid');
    } catch {
      ourPidNs = null; // not Linux, or no /proc: every owner is judged by its pid
    }
  }
  return ourPidNs;
}

const lockPath = (runDir: string) => join(runDir, 'owner.lock');
const ownerPath = (runDir: string) => join(runDir, 'owner.json');
const stoppedPath = (runDir: string) => join(runDir, 'stopped.json');

/**
 * Create the lock file 0600 (SQLite would make it 0644). Only when it is not
 * there: closing any descriptor of a file drops every POSIX lock this process
 * holds on it, SQLite's included, so an existing lock file is never opened here.
 */
function makeLockFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** Take the home's lock, or return null when another live process holds it. */
export function tryLockHome(runDir: string, owner: OwnerInfo): HomeLock | null {
  mkdirSync(runDir, { recursive: true, mode: 0o700 }); // owner only, whatever the group (home-mode.ts)
  makeLockFile(lockPath(runDir));
  const db = new Database(lockPath(runDir), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_BUSY') return null;
    if (code === 'SQLITE_FULL') throw new ForkpointError(ErrorCodes.NO_SPACE, `cannot take the home's lock ${lockPath(runDir)}: no space left on device`, { path: lockPath(runDir) }, { cause: err });
    throw new ForkpointError(ErrorCodes.IO, `cannot take the home's lock ${lockPath(runDir)}: ${(err as Error).message}`, { path: lockPath(runDir) }, { cause: err });
  }
  let current = { ...owner };
  // Written aside and renamed over: commands read it while its owner updates it (its Redis, then
  // its URL), and a file rewritten in place reads as empty for a moment ("names nobody"). A full
  // disk has no room for the second copy, but the file may still be rewritten in its own blocks
  // (serve's URL, written once it listens, must not fail the service where it used to fit).
  const write = () => {
    const text = `${JSON.stringify(current, null, 2)}\n`;
    const aside = `${ownerPath(runDir)}.${process.pid}.tmp`;
    try {
      writeFileSync(aside, text, { mode: 0o600 });
      renameSync(aside, ownerPath(runDir));
    } catch (err) {
      rmSync(aside, { force: true });
      try {
        writeFileSync(ownerPath(runDir), text, { mode: 0o600 });
      } catch {
        throw fromFsError(err, ownerPath(runDir), 'cannot write the home\'s owner file'); // a full disk: E_NO_SPACE
      }
    }
  };
  try {
    write();
  } catch (err) {
    rmSync(ownerPath(runDir), { force: true }); // an empty one, or the last owner's: the lock is ours until the rollback
    db.exec('ROLLBACK');
    db.close();
    throw err;
  }
  return {
    get owner() {
      return current;
    },
    update(patch) {
      current = { ...current, ...patch };
      write();
    },
    release(o = {}) {
      // Written before the owner file goes: nobody sees the home free without it.
      if (o.stopped) writeFileSync(stoppedPath(runDir), `${JSON.stringify({ pid: current.pid, startedAt: current.startedAt })}\n`, { mode: 0o600 });
      rmSync(ownerPath(runDir), { force: true });
      db.exec('ROLLBACK');
      db.close();
    },
  };
}

/**
 * The last owner that stopped cleanly (release with `stopped`), or null. An owner file gone does not
 * tell it: a command that held the home after a crash removes its own on the way out.
 */
export function readCleanStop(runDir: string): Pick<OwnerInfo, 'pid' | 'startedAt'> | null {
  try {
    return JSON.parse(readFileSync(stoppedPath(runDir), 'utf8')) as Pick<OwnerInfo, 'pid' | 'startedAt'>;
  } catch {
    return null;
  }
}

/** Who holds the home, as it wrote itself down (may be stale if nobody holds the lock). */
export function readOwner(runDir: string): OwnerInfo | null {
  try {
    return JSON.parse(readFileSync(ownerPath(runDir), 'utf8')) as OwnerInfo;
  } catch {
    return null;
  }
}

/**
 * The owner still runs (EPERM: it does, as another user): a dead pid means the owner file is
 * stale. One written in another pid namespace (a container sharing the home) cannot be judged
 * by its pid here, and counts as running.
 */
export function ownerAlive(owner: Pick<OwnerInfo, 'pid' | 'pidNs'>): boolean {
  if (owner.pidNs !== undefined && owner.pidNs !== pidNamespace()) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The holder is a serve that runs (another one is refused at once, not waited for). */
export const isLiveService = (holder: OwnerInfo | null): boolean => holder !== null && holder.kind === 'serve' && ownerAlive(holder);

/** A serve that runs and takes jobs: past its recovery, it has written down its Redis. */
export const isReadyService = (holder: OwnerInfo | null): boolean => isLiveService(holder) && holder!.redisUrl !== '';

/** The refusal when `holder` (or another process) keeps the home; `waitedMs` when we waited for it first. */
export function homeBusyError(home: string, holder: OwnerInfo | null, waitedMs?: number): ForkpointError {
  const who = holder ? `${holder.kind === 'serve' ? 'forkpoint serve' : 'a forkpoint command'} (pid ${holder.pid}, since ${holder.startedAt})` : 'another process';
  const waited = waitedMs ? ` (waited ${waitedMs / 1000} s for it)` : '';
  return new ForkpointError(ErrorCodes.HOME_LOCKED, `home ${home} is already owned by ${who}${waited}; only one pipeline may own a home`, {
    path: home,
    pid: holder?.pid,
  });
}

export function lockHomeOrThrow(runDir: string, owner: OwnerInfo, home: string): HomeLock {
  const lock = tryLockHome(runDir, owner);
  if (lock) return lock;
  throw homeBusyError(home, readOwner(runDir));
}

export interface WaitForHomeOptions {
  /** Give up after this long (ms). */
  waitMs: number;
  /** Stop waiting at once when the holder is one that will not go away soon (e.g. a service). */
  giveUpIf?: (holder: OwnerInfo | null) => boolean;
  /** Called once, the first time the lock is found taken (to say that we wait, and for whom). */
  onWait?: (holder: OwnerInfo | null) => void;
  /** Stop waiting when this aborts (a signal to the waiting process). */
  signal?: AbortSignal;
  pollMs?: number;
}

export type HomeLockWait = { lock: HomeLock } | { lock: null; holder: OwnerInfo | null; aborted: boolean };

/**
 * Take the lock, waiting while someone else holds it: a CLI command holds a
 * home only for as long as it runs, so waiting for it beats refusing. Without
 * the lock (the wait ran out, `giveUpIf` said so, or `signal` aborted) it
 * returns the holder it gave up on, as read then, for the caller to decide.
 */
export async function waitForHomeLock(runDir: string, owner: OwnerInfo, o: WaitForHomeOptions): Promise<HomeLockWait> {
  const deadline = Date.now() + o.waitMs;
  let told = false;
  for (;;) {
    const lock = tryLockHome(runDir, owner);
    if (lock) return { lock };
    const holder = readOwner(runDir);
    const aborted = o.signal?.aborted ?? false;
    if (aborted || o.giveUpIf?.(holder) || Date.now() >= deadline) return { lock: null, holder, aborted };
    if (!told) {
      told = true;
      o.onWait?.(holder);
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 100));
  }
}
