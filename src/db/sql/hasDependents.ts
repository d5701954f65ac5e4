import type { Database } from 'better-sqlite3';
import { countReaders } from './countReaders.js';

/**
 * Whether anything reads `baseId`: a ref, a box row, or a child base. Wider
 * than the seed's (refs only), which missed images forked on top of a base.
 */
export function hasDependents(db: Database, baseId: string): boolean {
  const c = countReaders(db, baseId);
  return c.refs + c.boxes + c.children > 0;
}
