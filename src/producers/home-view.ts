/** Read a home's records into the forest (for `tree`, `bases ls`, `gc --dry-run`, the HTTP API). */
import { existsSync } from 'node:fs';
import type { DbReader } from '../db/reader.js';
import type { HomeLayout } from '../layout.js';
import { buildForest, type Forest } from './forest.js';

export function readForest(reader: DbReader): Forest {
  const bases = reader.listBases({ includeTombstoned: true });
  const boxes = reader.listBoxes();
  return buildForest(bases, boxes, reader.refCounts());
}

/**
 * Run `fn` with a reader, or return `empty` when the home has no database yet
 * (nothing was ever done in it). A home with bases or boxes but no database
 * is not empty: opening it refuses (E_DB_MISSING, naming the way out).
 */
export async function withReader<T>(layout: HomeLayout, empty: T, fn: (reader: DbReader) => T): Promise<T> {
  if (!existsSync(layout.dbPath)) {
    const { homeContent } = await import('../db/open.js'); // lazily: it loads better-sqlite3
    const { bases, boxes } = homeContent(layout.home);
    if (bases === 0 && boxes === 0) return empty;
  }
  const { openReader } = await import('../db/reader.js');
  const reader = openReader(layout.home);
  try {
    return fn(reader);
  } finally {
    reader.close();
  }
}
