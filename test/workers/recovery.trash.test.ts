/**
 * Orphans are never unlinked by recovery: the orphan pass moves them to
 * <home>/trash/ with a sidecar (where from, when, why, purge after), so the
 * removal can be undone with one `mv`. The trash is purged after its
 * retention (7 days) by a repairing run, or all at once on request.
 */
import { existsSync, readFileSync, readdirSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { formatRecoveryReport, listTrash, purgeTrash, recover, TRASH_RETENTION_MS, trashDir } from '../../src/workers/recovery/index.js';
import { homeLayout } from '../../src/layout.js';
import { filesOf, recordsOf } from '../db/support/files.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();
const DAY = 24 * 3600 * 1000;

/** A home with one recorded box and snapshot, and an old orphan file in bases/. */
async function homeWithOrphan(): Promise<{ home: string; orphan: string }> {
  const home = newHome();
  const d = open(home);
  makeBox(d, 'S');
  await d.run('snapshot-create', { op: newOp('snap'), boxId: 'S', name: 'v1' });
  d.close();
  const orphan = join(home, 'bases', 'Orphan01.qcow2');
  writeFileSync(orphan, 'an orphan\n');
  const old = (Date.now() - 2 * DAY) / 1000;
  utimesSync(orphan, old, old);
  return { home, orphan };
}

describe('recovery: the trash', () => {
  it('moves an old orphan to trash/ with the reason, same inode and bytes; records untouched; one mv restores it', async () => {
    const { home, orphan } = await homeWithOrphan();
    const records = recordsOf(home);
    const files = filesOf(home);
    const ino = statSync(orphan).ino;

    const dry = await recover(home, { repair: false });
    expect(dry.problems).toEqual([expect.objectContaining({ path: orphan, repaired: false, action: 'move the orphan file to trash/ (kept 7 days)' })]);
    expect(filesOf(home)).toEqual(files); // a dry run moves nothing

    const now = Date.now();
    const report = await recover(home, { fsync: false, now });
    const [moved] = report.problems;
    expect(moved).toMatchObject({ subject: 'file', path: orphan, repaired: true });
    const entry = moved!.trashedTo!;
    expect(entry.startsWith(`${trashDir(homeLayout(home))}/`)).toBe(true);
    expect(existsSync(orphan)).toBe(false);
    expect(statSync(entry).ino).toBe(ino);
    expect(readFileSync(entry, 'utf8')).toBe('an orphan\n');
    expect(JSON.parse(readFileSync(`${entry}.why.json`, 'utf8'))).toEqual({
      from: orphan,
      trashedAt: now,
      why: expect.stringContaining('Orphan01.qcow2 in bases/ has no record'),
      purgeAfter: now + TRASH_RETENTION_MS,
    });
    expect(report.trash).toMatchObject({ entries: 1, due: 0, purged: [] });
    expect(formatRecoveryReport(report)).toContain(`(now ${entry})`);
    expect(recordsOf(home)).toEqual(records);
    // Everything but the orphan is where it was, unchanged.
    const { ['bases/Orphan01.qcow2']: gone, ...rest } = files;
    expect(gone).toBeDefined();
    const after = filesOf(home, ['bases', 'boxes']);
    expect(after).toEqual(rest);

    renameSync(entry, orphan); // the undo
    expect(readFileSync(orphan, 'utf8')).toBe('an orphan\n');
  });

  it('a repairing run purges entries past the retention, not before; a dry run only counts them', async () => {
    const { home } = await homeWithOrphan();
    const t0 = Date.now();
    const entry = (await recover(home, { fsync: false, now: t0 })).problems[0]!.trashedTo!;

    const early = await recover(home, { fsync: false, now: t0 + 6 * DAY });
    expect(early.trash).toMatchObject({ entries: 1, purged: [] });
    expect(existsSync(entry)).toBe(true);

    const dry = await recover(home, { repair: false, now: t0 + 8 * DAY });
    expect(dry.trash).toMatchObject({ entries: 1, due: 1, purged: [] });
    expect(formatRecoveryReport(dry)).toContain('1 past the retention (a repair purges them)');
    expect(existsSync(entry)).toBe(true);

    const late = await recover(home, { fsync: false, now: t0 + 8 * DAY });
    expect(late.trash).toEqual({ entries: 0, bytes: 0, due: 0, purged: [{ path: entry, from: join(home, 'bases', 'Orphan01.qcow2') }] });
    expect(readdirSync(trashDir(homeLayout(home)))).toEqual([]);
    expect(late.problems).toEqual([]);
  });

  it('an explicit purge empties the trash at once; an entry without its sidecar is dated by its name', async () => {
    const { home } = await homeWithOrphan();
    const layout = homeLayout(home);
    const t0 = Date.now();
    const entry = (await recover(home, { fsync: false, now: t0 })).problems[0]!.trashedTo!;
    // A sidecar lost (by hand): the stamp in the entry's name still dates it.
    renameSync(`${entry}.why.json`, join(newHome(), 'lost.json'));
    expect(listTrash(layout)).toEqual([{ path: entry, note: null, trashedAt: Math.floor(t0), bytes: 10 }]);
    expect(purgeTrash(layout, { now: t0 + DAY }).purged).toEqual([]);

    const purged = purgeTrash(layout, { now: t0 + DAY, all: true });
    expect(purged).toEqual({ entries: 0, bytes: 0, due: 0, purged: [{ path: entry, from: null }] });
    expect(readdirSync(trashDir(layout))).toEqual([]);
  });

  it('a base file some image still reads is never trashed, whatever its age', async () => {
    const home = newHome();
    const d = open(home);
    makeBox(d, 'S');
    const { baseId } = (await d.run('clone', { op: newOp('clone'), source: 'S', targets: ['C'] })).result;
    const base = findBaseById(d.reader, baseId)!;
    d.writer.connection.exec('DELETE FROM base_disk_ref; UPDATE box SET base_id = NULL; DELETE FROM base_disk');
    d.close();
    const old = (Date.now() - 2 * DAY) / 1000;
    utimesSync(base.basePath, old, old);
    const report = await recover(home, { fsync: false });
    expect(report.problems.map((p) => [p.path, p.action])).toContainEqual([base.basePath, 'none: kept while read']);
    expect(formatRecoveryReport(report)).toMatch(/an image reads it as its backing file — left alone: kept while read$/m);
    expect(existsSync(base.basePath)).toBe(true);
    expect(existsSync(trashDir(homeLayout(home)))).toBe(false);
  });
});
