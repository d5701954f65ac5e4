/** Naming the boxes of a counted clone. Pure and dependency-free: the CLI loads it at start-up. */
import { randomUUID } from 'node:crypto';

export const MAX_CLONE_TARGETS = 10_000;

/** `<prefix><i>` for i = 1..count; the default prefix is the source plus a short random tag, so reruns never collide. */
export function cloneTargets(source: string, count: number, prefix?: string): string[] {
  const p = prefix ?? `${source}-${randomUUID().slice(0, 6)}-`;
  return Array.from({ length: count }, (_, i) => `${p}${i + 1}`);
}
