/**
 * Losing the database must never destroy files (DESIGN invariant 8). The
 * issue's reproduction: box `web` with snapshot `golden`, `box rm web`, files
 * older than the 24 h grace, then the database deleted (or emptied, or
 * replaced by junk). `check` used to say "consistent, nothing to recover",
 * and the next mutating command made a fresh database whose start-up
 * recovery deleted the snapshot's file as an orphan. Now every open refuses
 * the home, the report says so, and nothing is created or removed.
 */
import { rmSync, truncateSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isForkpointError } from '../../src/errors.js';
import { homeLayout } from '../../src/layout.js';
import { openReader } from '../../src/db/reader.js';
import { openWriter } from '../../src/db/writer.js';
import { openInProcess } from '../../src/workers/in-process.js';
import { formatRecoveryReport, recover } from '../../src/workers/recovery/index.js';
import { ageFiles, filesOf, recordsOf } from '../db/support/files.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';
import { caught } from '../helpers/caught.js';

const { newHome, open } = useHomes();

/** The home: web's snapshot golden outlives web; every file past the grace period. */
async function homeWithLoneSnapshot(): Promise<{ home: string; snapshotPath: string }> {
  const home = newHome();
  const d = open(home);
  makeBox(d, 'web');
  const { baseId } = (await d.run('snapshot-create', { op: newOp('snap'), boxId: 'web', name: 'golden' })).result;
  await d.run('remove-box', { op: newOp('rm'), boxId: 'web' });
  const snapshotPath = d.writer.connection.prepare('SELECT base_path FROM base_disk WHERE id = ?').pluck().get(baseId) as string;
  d.close();
  ageFiles(home);
  return { home, snapshotPath };
}

const losses = {
  deleted: (dbPath: string) => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(dbPath + suffix, { force: true });
  },
  'emptied (0 bytes)': (dbPath: string) => truncateSync(dbPath, 0),
  'replaced by a file that is not SQLite': (dbPath: string) => writeFileSync(dbPath, 'not a database\n'.repeat(100)),
} as const;

describe('recovery: a home whose database is lost', () => {
  for (const [how, lose] of Object.entries(losses)) {
    it(`database ${how}: check reports it, every open refuses, no file or database is made or removed`, async () => {
      const { home, snapshotPath } = await homeWithLoneSnapshot();
      const { dbPath } = homeLayout(home);
      lose(dbPath);
      const dbBefore = existsSync(dbPath) ? readFileSync(dbPath) : null;
      const filesBefore = filesOf(home);
      expect(Object.keys(filesBefore)).toContain(snapshotPath.slice(home.length + 1));
      const code = how.startsWith('replaced') ? 'E_DB_INVALID' : 'E_DB_MISSING';

      // The dry run (`forkpoint check`) is not "consistent": it names the database and the way out.
      const dry = await recover(home, { repair: false });
      expect(dry.problems).toEqual([expect.objectContaining({ subject: 'file', path: dbPath, action: 'none', repaired: false, code })]);
      expect(dry.summary).toMatchObject({ found: 1, needsAttention: 1 });
      expect(formatRecoveryReport(dry)).not.toContain('consistent');
      expect(formatRecoveryReport(dry)).toContain(`forkpoint --home ${home} check --rebuild`);

      // The repairing run (every start-up, `check --repair`), the in-process driver, the writer and a reader all refuse.
      await expect(recover(home, { fsync: false })).rejects.toMatchObject({ code, message: expect.stringContaining('check --rebuild') });
      for (const openIt of [() => openInProcess(home, { fsync: false }), () => openWriter(home), () => openReader(home)]) {
        const err = caught(openIt);
        expect(isForkpointError(err, code), String(err)).toBe(true);
        expect((err as Error).message).toContain(dbPath);
        expect((err as { exitCode: number }).exitCode).toBe(1);
      }

      // Nothing changed: the snapshot's file is there, no database was started over it.
      expect(filesOf(home)).toEqual(filesBefore);
      expect(existsSync(dbPath) ? readFileSync(dbPath) : null).toEqual(dbBefore);
      expect(existsSync(`${dbPath}-wal`)).toBe(false);
    });
  }

  it('a database that never got its schema (version 0) in a home with files is refused the same way', async () => {
    const { home } = await homeWithLoneSnapshot();
    const { dbPath } = homeLayout(home);
    losses.deleted(dbPath);
    const Sqlite = (await import('better-sqlite3')).default;
    const empty = new Sqlite(dbPath);
    empty.pragma('journal_mode = WAL'); // what a writer killed before its first migration leaves
    empty.close();
    const before = readFileSync(dbPath);
    expect(caught(() => openWriter(home))).toMatchObject({ code: 'E_DB_MISSING', message: expect.stringContaining('no schema (version 0)') });
    expect(readFileSync(dbPath)).toEqual(before);
  });

  it('a brand-new home, or one whose bases/ and boxes/ are empty folders, still starts its database', () => {
    const fresh = newHome();
    openWriter(fresh).close();
    expect(recordsOf(fresh)).toEqual({ bases: [], boxes: [], refs: [] });

    const folders = newHome();
    open(folders).close(); // makes bases/ and boxes/
    losses.deleted(homeLayout(folders).dbPath);
    openWriter(folders).close();
    expect(recordsOf(folders)).toEqual({ bases: [], boxes: [], refs: [] });
  });
});
