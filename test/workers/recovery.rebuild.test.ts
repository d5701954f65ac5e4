/**
 * `forkpoint check --rebuild`: a home whose database is lost gets its records
 * back from its files. Kinds by the safe rule (raw → rootfs; every qcow2 base
 * a snapshot, since GC never collects one), parents from the headers, boxes
 * and refs from the disks' chains; what the files cannot decide is reported.
 * It never deletes, moves or changes a file, and never writes over a
 * database. Afterwards recovery and GC take nothing.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { homeLayout } from '../../src/layout.js';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { recover } from '../../src/workers/recovery/index.js';
import { formatRebuildReport, rebuildRecords } from '../../src/workers/recovery/rebuild.js';
import { rawExt4Image } from '../helpers/qemu.js';
import { ageFiles, filesOf, recordsOf } from '../db/support/files.js';
import { bytesOf, expectBoxesIntact, guestBytes, makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

const loseDatabase = (home: string) => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(homeLayout(home).dbPath + suffix, { force: true });
};

/**
 * web → snapshot golden (S) → clone to c1, c2 (C, on S) → c2 removed; g1 a
 * clone of golden; a rootfs (R) read by r1; junk in bases/ and a stray folder.
 */
async function richHome() {
  const home = newHome();
  const d = open(home);
  makeBox(d, 'web', 0x5a);
  const S = (await d.run('snapshot-create', { op: newOp('snap'), boxId: 'web', name: 'golden' })).result.baseId;
  const C = (await d.run('clone', { op: newOp('clone'), source: 'web', targets: ['c1', 'c2'] })).result.baseId;
  await d.run('remove-box', { op: newOp('rm'), boxId: 'c2' });
  await d.run('snapshot-clone', { op: newOp('sc'), name: 'golden', target: 'g1' });
  const image = rawExt4Image(join(newHome(), 'root.ext4'));
  const R = (await d.run('rootfs-import', { op: newOp('rootfs'), key: 'alpine', image })).result.baseId;
  await d.run('box-create', { op: newOp('box'), boxId: 'r1', rootfs: 'alpine' });
  const paths = Object.fromEntries([S, C, R].map((id) => [id, findBaseById(d.reader, id)!.basePath]));
  d.close();
  writeFileSync(join(home, 'bases', 'notes.txt'), 'not a base\n');
  mkdirSync(join(home, 'boxes', 'stray', 'disks'), { recursive: true });
  ageFiles(home);
  return { home, S, C, R, paths, boxes: ['web', 'c1', 'g1', 'r1'] };
}

describe('recovery: rebuilding the records from the files', () => {
  it('records every base and box, changes no file, and reports what the files cannot decide', async () => {
    const h = await richHome();
    const before = recordsOf(h.home)!;
    const bytes = bytesOf(homeLayout(h.home), h.boxes);
    loseDatabase(h.home);
    const files = filesOf(h.home);

    const report = rebuildRecords(h.home);
    expect(filesOf(h.home), 'no file deleted, moved or changed').toEqual(files);

    const after = recordsOf(h.home)!;
    // Parents and box → base links are what the headers say: exactly the lost records'.
    const links = (r: typeof before) => ({
      bases: r.bases.map((b) => [b.id, b.base_path, b.parent_id]),
      boxes: r.boxes.map((b) => [b.id, b.state, b.disk_path, b.base_id]),
    });
    expect(links(after)).toEqual(links(before));
    // Kinds by the safe rule; generated names (the real ones are not in the files).
    expect(after.bases.map((b) => [b.id, b.kind, b.name, b.state, b.tombstoned])).toEqual(
      [
        [h.S, 'snapshot', `recovered-${h.S}`, 'ready', 0],
        [h.C, 'snapshot', `recovered-${h.C}`, 'ready', 0],
        [h.R, 'rootfs', `recovered-${h.R}`, 'ready', 0],
      ].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)), // SQLite's ORDER BY id: binary
    );
    // A ref on every base of a box's chain (the lost records had a subset of these).
    const refs = after.refs.map((r) => `${r.box_id}→${r.base_disk_id}`).sort();
    expect(refs).toEqual([`c1→${h.C}`, `c1→${h.S}`, `g1→${h.S}`, `r1→${h.R}`, `web→${h.C}`, `web→${h.S}`].sort());
    for (const r of before.refs) expect(refs).toContain(`${r.box_id}→${r.base_disk_id}`);

    expect(report.summary).toEqual({ snapshots: 2, rootfs: 1, boxes: 4, refs: 6, undecided: 4 });
    expect(report.undecided.map((u) => [u.subject, u.id ?? u.path])).toEqual([
      ['file', join(h.home, 'bases', 'notes.txt')],
      ['box', 'stray'],
      ['base', h.S], // parents first
      ['base', h.C],
    ]);
    const undecidedS = report.undecided.find((u) => u.id === h.S)!;
    expect(undecidedS.problem).toContain(`read by box g1, base ${h.C}`);
    expect(undecidedS.action).toContain(`forkpoint snapshot rm recovered-${h.S} --force`);
    expect(formatRebuildReport(report)).toContain('no file was changed');

    // Recovery on the rebuilt home: only the junk is reported; nothing is collected, moved or deleted.
    const repaired = await recover(h.home, { fsync: false });
    expect(repaired.collected).toEqual([]);
    expect(repaired.problems.map((p) => [p.subject, p.id ?? p.path, p.repaired])).toEqual([
      ['box', 'stray', false],
      ['file', join(h.home, 'bases', 'notes.txt'), true], // an orphan past the grace period: to trash/, not unlinked
    ]);
    const moved = repaired.problems[1]!.trashedTo!;
    const now = filesOf(h.home);
    expect(Object.keys(now).filter((p) => !p.startsWith('trash/'))).toEqual(Object.keys(files).filter((p) => p !== 'bases/notes.txt'));
    expect(readFileSync(moved, 'utf8')).toBe('not a base\n');
    expectBoxesIntact(homeLayout(h.home), bytes);

    // GC takes nothing; a recovered snapshot clones like the original.
    const d = open(h.home);
    expect((await d.run('sweep', {})).collected).toEqual([]);
    await d.run('snapshot-clone', { op: newOp('sc'), name: `recovered-${h.S}`, target: 'again' });
    expect(guestBytes(join(h.home, 'boxes', 'again', 'disks', 'container.qcow2'))).toBe(bytes.g1);
    d.close();
  });

  it('never writes over a database: an existing one (usable or damaged) is refused and left as it is', async () => {
    const h = await richHome();
    const { dbPath } = homeLayout(h.home);
    const files = filesOf(h.home);
    const usable = readFileSync(dbPath);
    expect(() => rebuildRecords(h.home)).toThrow(expect.objectContaining({ code: 'E_ALREADY_EXISTS', message: expect.stringContaining('move it aside') }));
    expect(readFileSync(dbPath)).toEqual(usable);

    writeFileSync(dbPath, 'garbage'.repeat(1000));
    expect(() => rebuildRecords(h.home)).toThrow(expect.objectContaining({ code: 'E_ALREADY_EXISTS' }));
    expect(readFileSync(dbPath, 'utf8')).toBe('garbage'.repeat(1000));
    expect(filesOf(h.home)).toEqual(files);

    // Moved aside by the person, as the message says: the rebuild goes ahead and keeps the damaged copy.
    const { renameSync } = await import('node:fs');
    renameSync(dbPath, `${dbPath}.damaged`);
    expect(rebuildRecords(h.home).summary.boxes).toBe(4);
    expect(readFileSync(`${dbPath}.damaged`, 'utf8')).toBe('garbage'.repeat(1000));
  });

  it('an emptied database file is rebuilt in place; the issue home keeps its snapshot', async () => {
    const home = newHome();
    const d = open(home);
    makeBox(d, 'web');
    const { baseId } = (await d.run('snapshot-create', { op: newOp('snap'), boxId: 'web', name: 'golden' })).result;
    await d.run('remove-box', { op: newOp('rm'), boxId: 'web' });
    d.close();
    ageFiles(home);
    const { truncateSync } = await import('node:fs');
    truncateSync(homeLayout(home).dbPath, 0);
    const files = filesOf(home);

    const report = rebuildRecords(home);
    expect(report.bases).toEqual([expect.objectContaining({ id: baseId, kind: 'snapshot', readBy: [], why: expect.stringContaining('read by nothing') })]);
    expect(report.undecided).toEqual([]);
    const repaired = await recover(home, { fsync: false });
    expect(repaired.problems).toEqual([]);
    expect(filesOf(home)).toEqual(files);
  });

  it('refuses a home with nothing to rebuild from', () => {
    expect(() => rebuildRecords(newHome())).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }));
  });
});
