/**
 * Where a command's settings come from: flags, then environment, then
 * defaults. Resolved once per process; pure apart from reading env and the
 * home's id file.
 */
import { childrenFlushSetting } from './children-flush.js';
import { realpathSync, statSync } from 'node:fs';
import { cpus, homedir } from 'node:os';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { dirname, join, resolve, sep } from 'node:path';

/** A Redis Cluster hash tag, so every key of every queue lands in one slot. */
export const DEFAULT_PREFIX = '{forkpoint}';

export interface ConfigFlags {
  home?: string;
  redis?: string;
  prefix?: string;
  poolSize?: number;
}

export interface Config {
  home: string;
  /** The Redis the user named (--redis, REDIS_URL), used as asked; null: the home's private redis-server (connect-redis.ts says why no local one is taken unasked). */
  redisUrl: string | null;
  prefix: string;
  /** Piscina threads for file work. */
  poolSize: number;
}

/** A setting given as nothing (`REDIS_URL= cmd`, an unset shell variable expanded) counts as not given. */
const setting = (value: string | undefined): string | undefined => (value === undefined || value.trim() === '' ? undefined : value);

export function resolveConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): Config {
  // An empty home is refused, not defaulted: resolved, '' named the current folder, which `box create`
  // then made a home (and private); ~/.forkpoint would be a home the caller did not name either.
  const givenHome = flags.home ?? env.FORKPOINT_HOME;
  if (givenHome !== undefined && givenHome.trim() === '') {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, 'the home is empty (--home or FORKPOINT_HOME set to nothing): name its folder, or leave both unset for ~/.forkpoint', { field: 'home' });
  }
  const home = resolve(givenHome ?? resolve(homedir(), '.forkpoint'));
  const explicitUrl = setting(flags.redis) ?? setting(env.REDIS_URL);
  childrenFlushSetting(env); // read where it is used (a file thread); a value nobody knows is refused here, before anything starts
  return {
    home,
    redisUrl: explicitUrl ?? null,
    prefix: flags.prefix ?? env.FORKPOINT_PREFIX ?? DEFAULT_PREFIX,
    poolSize: flags.poolSize ?? poolSizeFrom(env.FORKPOINT_POOL_SIZE),
  };
}

/** FORKPOINT_POOL_SIZE: file threads, an integer ≥ 1; unset or empty means one per CPU. */
function poolSizeFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return Math.max(1, cpus().length);
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `FORKPOINT_POOL_SIZE must be an integer from 1 to 256, got "${value}"`, { field: 'FORKPOINT_POOL_SIZE' });
  }
  return n;
}

const canonicalDir = (p: string): string => {
  try {
    return realpathSync.native(p);
  } catch {
    return resolve(p); // not made yet: judged by its name
  }
};
const within = (inner: string, outer: string): boolean => inner.startsWith(outer.endsWith(sep) ? outer : outer + sep);

/**
 * Refuse import folders that would let a request read what it must not (invariant 7), at
 * service start, naming the folder:
 * - `/`, or a folder that contains the home: every file of the home (the DB, other boxes' disks)
 *   would be importable;
 * - a folder inside the home other than `<home>/import`: its files are ours (disks, bases, run/);
 * - a folder that does not exist (but `<home>/import`): anyone who may write where it would be
 *   could make it later, as a symlink to anywhere;
 * - a folder that others may write without the sticky bit (mode o+w or g+w, no +t), or that has
 *   such a folder above it: anyone of them could rename or replace the files another user put
 *   there, or the folder itself, so what is imported would not be what its owner placed. With the
 *   sticky bit (as on /tmp) only a file's owner may rename it, and the fd checks of the readers
 *   (import-path.ts) cover the rest. Every file in an import folder is readable by every caller
 *   of the service: that is what an import folder is.
 */
export function assertImportDirs(home: string, dirs: readonly string[]): void {
  const h = canonicalDir(home);
  const ownImport = join(h, 'import');
  for (const given of dirs) {
    const d = canonicalDir(given);
    const refuse = (why: string) =>
      new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `import folder ${given}${d !== given ? ` (${d})` : ''}: ${why}`, { field: 'import-dir', path: given });
    if (d === sep) throw refuse('the whole file system cannot be an import folder; name a folder for images only');
    if (d !== ownImport) {
      if (d === h || within(h, d)) throw refuse(`it contains the home ${h}, whose database and disks a request could then read`);
      if (within(d, h)) throw refuse(`it is inside the home ${h}; only ${ownImport} may be (the rest holds the home's own files)`);
    }
    for (let at = d; ; at = dirname(at)) {
      let mode: number;
      try {
        const st = statSync(at);
        if (at === d && !st.isDirectory()) throw refuse('not a folder');
        mode = st.mode;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        // Checked by name, a missing folder could be made later by anyone who may write where it
        // would be, as a symlink to anywhere. <home>/import is ours (the home is 0700): made when needed.
        if (at === d && d !== ownImport) throw refuse('does not exist; make it first (mkdir -m 0700), so that it is a folder of yours');
        if (at === dirname(at)) break;
        continue;
      }
      if ((mode & 0o022) !== 0 && (mode & 0o1000) === 0) {
        const whose = at === d ? 'it' : `the folder ${at} above it`;
        throw refuse(`${whose} may be written by other users (mode ${(mode & 0o7777).toString(8)}) without the sticky bit, so they could replace the files others put there; chmod o-w,g-w (or +t)`);
      }
      if (at === dirname(at)) break;
    }
  }
}
