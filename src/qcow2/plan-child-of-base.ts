/**
 * I/O half of the child layout: look at the base (canonical path, format,
 * size, cluster size) and turn it into a ChildPlan.
 *
 * Plans of read-only bases are cached: a 0444 file is one of our immutable
 * bases (or the rootfs cache), so its header cannot change under us, and the
 * key also holds its inode and ctime in case someone chmods and rewrites it
 * anyway. A cache hit costs one realpath and one stat instead of an open, a
 * read and a parse, which is most of a non-durable child write.
 */
import { realpathSync, statSync } from 'node:fs';
import { fromFsError } from '../errors.js';
import { childClusterBits, planChild, type ChildPlan } from './child-layout.js';
import { roundUpToSector } from './chain.js';
import { probeImage } from './read-header.js';
import type { ImageFormat } from './types.js';

const CACHE_LIMIT = 256;
const planCache = new Map<string, ChildPlan>();

export function planChildOfBase(basePath: string, backingFormat?: ImageFormat): ChildPlan {
  let canonical: string;
  let key: string | null = null;
  try {
    // realpath(3) in one syscall; the JS realpathSync lstats every path component.
    canonical = realpathSync.native(basePath);
    const st = statSync(canonical, { bigint: true });
    if ((st.mode & 0o222n) === 0n) key = `${canonical}\0${st.dev}:${st.ino}:${st.size}:${st.ctimeNs}:${backingFormat ?? ''}`;
  } catch (err) {
    throw fromFsError(err, basePath, 'cannot resolve base');
  }
  const cached = key === null ? undefined : planCache.get(key);
  if (cached) return cached;

  const base = probeImage(canonical, backingFormat);
  const format = base.format;
  const virtualSize = base.format === 'qcow2' ? base.header.size : roundUpToSector(base.fileSize);
  const clusterBits = childClusterBits(base.format === 'qcow2' ? base.header.clusterBits : undefined, canonical, format);
  const plan = planChild({ backingPath: canonical, backingFormat: format, virtualSize, clusterBits });
  if (key !== null) {
    if (planCache.size >= CACHE_LIMIT) planCache.delete(planCache.keys().next().value!);
    planCache.set(key, plan);
  }
  return plan;
}
