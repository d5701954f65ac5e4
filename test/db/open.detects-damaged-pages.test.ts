/**
 * Damage inside the database (40 random bytes over one of its pages) is found
 * before anything is decided from it: the writer open runs `PRAGMA
 * quick_check` (so does every start-up and `check --repair`, which open the
 * writer), the report of `check` runs `integrity_check` on its read-only
 * connection. The damaged file is refused and left exactly as it is.
 */
import Sqlite from 'better-sqlite3';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { homeLayout } from '../../src/layout.js';
import { openDatabase } from '../../src/db/open.js';
import { openWriter } from '../../src/db/writer.js';
import { recover } from '../../src/workers/recovery/index.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('forkpoint-db-damage-');

/** 40 bytes that look random but are the same every run (a small LCG). */
function noise(seed: number, n = 40): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A home with 200 boxes (several pages per table), closed (its WAL checkpointed into the file). */
function homeWithRecords(): { home: string; dbPath: string } {
  const home = tmp();
  const w = openWriter(home);
  for (let i = 0; i < 200; i++) {
    w.apply({ type: 'createBox', op: `op-${i}`, boxId: `box-${String(i).padStart(3, '0')}`, baseId: null });
  }
  w.close();
  return { home, dbPath: homeLayout(home).dbPath };
}

/** Overwrite 40 bytes at the start of `table`'s root page (its b-tree header and cell pointers). */
function damagePage(dbPath: string, table: string, seed: number): void {
  const db = new Sqlite(dbPath, { readonly: true });
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const root = db.prepare('SELECT rootpage FROM sqlite_master WHERE name = ?').pluck().get(table) as number;
  db.close();
  const fd = openSync(dbPath, 'r+');
  try {
    writeSync(fd, noise(seed), 0, 40, (root - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
}

describe('opening a damaged database', () => {
  for (const [table, seed] of [['box', 1], ['op', 2], ['box_by_op', 3]] as const) {
    it(`40 random bytes over a page of ${table}: the writer refuses it (quick_check), check reports it, the file is unchanged`, async () => {
      const { home, dbPath } = homeWithRecords();
      damagePage(dbPath, table, seed);
      const damaged = readFileSync(dbPath);

      expect(() => openWriter(home)).toThrow(
        expect.objectContaining({ code: 'E_DB_INVALID', message: expect.stringMatching(/is (damaged \(PRAGMA quick_check|not a usable SQLite database).*check --rebuild/) }),
      );
      await expect(recover(home, { fsync: false })).rejects.toMatchObject({ code: 'E_DB_INVALID' });
      const dry = await recover(home, { repair: false });
      expect(dry.problems).toEqual([expect.objectContaining({ subject: 'file', path: dbPath, code: 'E_DB_INVALID', action: 'none' })]);
      expect(readFileSync(dbPath).equals(damaged)).toBe(true);
    });
  }

  it('a sound database passes both checks', () => {
    const { dbPath } = homeWithRecords();
    openDatabase(dbPath).close();
    openDatabase(dbPath, { readonly: true, verify: true }).close();
  });
});
