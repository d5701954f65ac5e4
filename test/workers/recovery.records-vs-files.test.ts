/**
 * Recovery compares records with files: an orphan file in bases/ is moved to
 * trash/ (never unlinked) only past the grace period and only if no image reads it; a record whose
 * file is gone is reported. (Ported from test/db/recovery.crash-points.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { findBox } from '../../src/db/sql/findBox.js';
import { formatRecoveryReport, recover } from '../../src/workers/recovery/index.js';
import { bytesOf, expectBoxesIntact, makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

describe('recovery: records against files', () => {
  it('reports orphan files in bases/, moving them to trash/ only after the grace period', async () => {
    const home = newHome();
    const d = open(home);
    makeBox(d, 'S');
    d.close();
    const young = join(home, 'bases', 'Young001.qcow2');
    const old = join(home, 'bases', 'Oldfile1.qcow2');
    writeFileSync(young, 'x');
    writeFileSync(old, 'x');
    const dayAgo = (Date.now() - 2 * 24 * 3600 * 1000) / 1000;
    utimesSync(old, dayAgo, dayAgo);
    const dry = await recover(home, { repair: false });
    expect(dry.problems.map((p) => [p.path, p.repaired])).toEqual([
      [old, false],
      [young, false],
    ]);
    expect(existsSync(old)).toBe(true);
    expect(formatRecoveryReport(dry)).toContain(`${young}: Young001.qcow2 in bases/ has no record (age 0 s) — left alone: younger than the grace period`);
    const report = await recover(home);
    expect(report.problems.map((p) => [p.path, p.repaired])).toEqual([
      [old, true],
      [young, false],
    ]);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(report.problems[0]!.trashedTo!)).toBe(true);
    expect(existsSync(young)).toBe(true);
  });

  it('keeps an old orphan file that an image still reads as its backing file', async () => {
    const home = newHome();
    const d = open(home);
    makeBox(d, 'S');
    const { baseId } = (await d.run('clone', { op: newOp('clone'), source: 'S', targets: ['C'] })).result;
    const base = findBaseById(d.reader, baseId)!;
    const before = bytesOf(d.layout, ['S', 'C']);
    // The record is lost (as a bug or a hand-edited database would lose it); the file is old.
    d.writer.connection.prepare('DELETE FROM base_disk_ref').run();
    d.writer.connection.prepare('UPDATE box SET base_id = NULL').run();
    d.writer.connection.prepare('DELETE FROM base_disk').run();
    d.close();
    const dayAgo = (Date.now() - 2 * 24 * 3600 * 1000) / 1000;
    utimesSync(base.basePath, dayAgo, dayAgo);
    const report = await recover(home);
    expect(report.problems.map((p) => [p.path, p.action])).toContainEqual([base.basePath, 'none: kept while read']);
    expect(existsSync(base.basePath)).toBe(true);
    expectBoxesIntact(open(home).layout, before);
  });

  it('reports a record whose file is gone', async () => {
    const home = newHome();
    const d = open(home);
    makeBox(d, 'S');
    const { baseId } = (await d.run('snapshot-create', { op: newOp('snap'), boxId: 'S', name: 'v' })).result;
    const snap = findBaseById(d.reader, baseId)!;
    d.close();
    spawnSync('rm', ['-f', snap.basePath]);
    const report = await recover(home);
    expect(report.problems.map((p) => [p.id, p.action])).toContainEqual([snap.id, 'none']);
  });

  it('without its report-only passes (a CLI command start-up) still repairs, and reports only what it repaired', async () => {
    const home = newHome();
    const d = open(home);
    makeBox(d, 'S');
    makeBox(d, 'G');
    const { baseId } = (await d.run('snapshot-create', { op: newOp('snap'), boxId: 'S', name: 'v' })).result;
    const snap = findBaseById(d.reader, baseId)!;
    const gone = findBox(d.reader, 'G')!.diskPath;
    d.close();
    mkdirSync(join(home, 'boxes', 'stray')); // a folder with no record
    rmSync(gone); // a ready box without its disk
    const orphan = join(home, 'bases', 'Oldfile1.qcow2');
    writeFileSync(orphan, 'x');
    const dayAgo = (Date.now() - 2 * 24 * 3600 * 1000) / 1000;
    utimesSync(orphan, dayAgo, dayAgo);

    const full = await recover(home, { repair: false });
    const reportOnly = [join(home, 'boxes', 'stray'), gone];
    expect(full.problems.map((p) => p.path)).toEqual(expect.arrayContaining(reportOnly));

    chmodSync(snap.basePath, 0o644); // a base that lost its read-only mode
    const quick = await recover(home, { reports: false });
    expect(quick.problems.map((p) => [p.path, p.repaired])).toEqual([
      [snap.basePath, true],
      [orphan, true],
    ]);
    expect(statSync(snap.basePath).mode & 0o777).toBe(0o400);
    expect(existsSync(orphan)).toBe(false);
    // What it skipped is still there for `check` to report.
    expect((await recover(home, { repair: false })).problems.map((p) => p.path)).toEqual(reportOnly);
  });
});
