import type { Database } from 'better-sqlite3';
import { firstReader } from './firstReader.js';

/**
 * Whether anything reads `baseId`: a ref, a box row, or a child base. Wider
 * than the seed's (refs only), which missed images forked on top of a base.
 */
export function hasDependents(db: Database, baseId: string): boolean {
  return firstReader(db, baseId) !== null;
}
