/** Naming the boxes of a counted clone. Pure and dependency-free: the CLI loads it at start-up. */
import { createHash, randomUUID } from 'node:crypto';

export const MAX_CLONE_TARGETS = 10_000;

/**
 * `<prefix><i>` for i = 1..count. The default prefix is the source plus a short
 * tag: random, so reruns never collide; or, for a request with an `op`, derived
 * from it, so the same request retried names the same boxes (and joins its job).
 */
export function cloneTargets(source: string, count: number, prefix?: string, op?: string): string[] {
  const tag = op === undefined ? randomUUID().slice(0, 6) : createHash('sha256').update(op).digest('hex').slice(0, 6);
  const p = prefix ?? `${source}-${tag}-`;
  return Array.from({ length: count }, (_, i) => `${p}${i + 1}`);
}
