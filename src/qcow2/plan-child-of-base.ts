/**
 * I/O half of the child layout: look at the base (canonical path, format,
 * size, cluster size), check its backing chain the way fork does (a child of
 * a base with a broken or full chain would be a disk qemu cannot open), and
 * turn it into a ChildPlan.
 *
 * Plans of read-only bases are cached: a read-only file is one of our
 * immutable bases (or the rootfs cache), so its header cannot change under
 * us, and the key also holds its inode and ctime in case someone chmods and
 * rewrites it anyway. The backing files below it are cached the same way
 * (only when all are read-only) and re-stated on a hit: a file replaced,
 * removed or rewritten sends the call down the full walk again. A cache hit
 * costs a realpath and one stat per level instead of an open, a read and a
 * parse per level, which is most of a non-durable child write.
 */
import { realpathSync, statSync, type BigIntStats } from 'node:fs';
import { fromFsError } from '../errors.js';
import { childClusterBits, planChild, type ChildPlan } from './child-layout.js';
import { assertChildChainReadable, roundUpToSector } from './chain.js';
import { probeImage } from './read-header.js';
import type { ImageFormat } from './types.js';

const CACHE_LIMIT = 256;
/** The plan, and the identity of every backing file below the base when it was walked. */
const planCache = new Map<string, { plan: ChildPlan; below: { path: string; id: string }[] }>();

const identity = (st: BigIntStats): string => `${st.dev}:${st.ino}:${st.size}:${st.ctimeNs}`;
const readOnly = (st: BigIntStats): boolean => (st.mode & 0o222n) === 0n;

/** The identities of the backing files, or null when one is writable (or gone): then nothing is cached. */
function cacheableBelow(paths: string[]): { path: string; id: string }[] | null {
  try {
    const stats = paths.map((path) => ({ path, st: statSync(path, { bigint: true }) }));
    return stats.every((s) => readOnly(s.st)) ? stats.map((s) => ({ path: s.path, id: identity(s.st) })) : null;
  } catch {
    return null;
  }
}

function unchanged(below: { path: string; id: string }[]): boolean {
  try {
    return below.every((b) => identity(statSync(b.path, { bigint: true })) === b.id);
  } catch {
    return false; // gone: the walk reports it properly
  }
}

export function planChildOfBase(basePath: string, backingFormat?: ImageFormat): ChildPlan {
  let canonical: string;
  let key: string | null = null;
  try {
    // realpath(3): one readlink per path component (the JS realpathSync adds an lstat for each).
    canonical = realpathSync.native(basePath);
    const st = statSync(canonical, { bigint: true });
    if (readOnly(st)) key = `${canonical}\0${identity(st)}:${backingFormat ?? ''}`;
  } catch (err) {
    throw fromFsError(err, basePath, 'cannot resolve base');
  }
  const cached = key === null ? undefined : planCache.get(key);
  if (cached && unchanged(cached.below)) return cached.plan;

  const base = probeImage(canonical, backingFormat);
  const layers = base.format === 'qcow2' ? assertChildChainReadable({ path: canonical, fileSize: base.fileSize, header: base.header }, 'be the base of a new child') : [];
  const format = base.format;
  const virtualSize = base.format === 'qcow2' ? base.header.size : roundUpToSector(base.fileSize);
  const clusterBits = childClusterBits(base.format === 'qcow2' ? base.header.clusterBits : undefined, canonical, format);
  const plan = planChild({ backingPath: canonical, backingFormat: format, virtualSize, clusterBits });
  const below = key === null ? null : cacheableBelow(layers.slice(1).map((l) => l.path));
  if (key !== null && below !== null) {
    if (planCache.size >= CACHE_LIMIT) planCache.delete(planCache.keys().next().value!);
    planCache.set(key, { plan, below });
  }
  return plan;
}
