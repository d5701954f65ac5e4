/**
 * Box disks a fork must refuse (file-steps/box-disk-guard.ts), made on a real
 * home: a hard link, a symlinked box or disks folder, a backing chain that
 * leaves the home. A fork (snapshot-create, clone) is refused before anything
 * moves: files in and out of the home and every record stay as they were (no
 * base row), the outside file keeps its mode and bytes; `check` reports it.
 * The fork's own file step refuses too (a disk changed after the probe).
 */
import { createHash } from 'node:crypto';
import { chmodSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Database } from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { listBases } from '../../src/db/sql/listBases.js';
import { boxDir, boxDiskPath, boxDisksDir, type HomeLayout } from '../../src/layout.js';
import type { InProcessDriver } from '../../src/workers/in-process.js';
import { recover } from '../../src/workers/recovery/index.js';
import { newOp, useHomes } from '../db/support/home.js';
import { qemuCreate, rawExt4Image } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';

const { newHome, open } = useHomes();
const outsideDir = useTmpDirs('fp-outside-');

/** Every path under each root, by lstat (links are not followed): kind, mode, link count, bytes or target. */
function filesOf(roots: string[]): string[] {
  const out: string[] = [];
  const visit = (root: string, path: string) => {
    const st = lstatSync(path);
    const rel = `${root}:${relative(root, path)}`;
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out.push(`${rel} link ${readlinkSync(path)}`);
    else if (st.isDirectory()) {
      out.push(`${rel}/ ${mode}`);
      for (const name of readdirSync(path).sort()) if (!(root.endsWith('home') && relative(root, join(path, name)) === 'db')) visit(root, join(path, name));
    } else out.push(`${rel} ${mode} nlink=${st.nlink} ${createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16)}`);
  };
  for (const root of roots) visit(root, root);
  return out;
}

/** Every row of every table (the journal included: a refusal before beginFork writes nothing at all). */
function rowsOf(db: Database): Record<string, string[]> {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
  return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}"`).all().map((r) => JSON.stringify(r)).sort()]));
}

interface Trick {
  /** The path the refusal must name. */
  path: string;
  rule: string;
  code: string;
  /** A file outside the home the trick would have a fork move, chmod or read. */
  victim: string;
}

const fakeBase = (l: HomeLayout, id: string) => join(l.basesDir, `${id}.qcow2`);

/** Each trick, made on box `b` of a home, with files outside the home in `outside`. */
const tricks: Record<string, (l: HomeLayout, outside: string) => Trick> = {
  'a disk that is a hard link to a file outside the home': (l, outside) => {
    const victim = join(outside, 'victim.qcow2');
    qemuCreate(victim, { size: '1M' });
    chmodSync(victim, 0o644);
    rmSync(boxDiskPath(l, 'b'));
    linkSync(victim, boxDiskPath(l, 'b'));
    return { path: boxDiskPath(l, 'b'), rule: 'hard-link', code: 'E_FORBIDDEN', victim };
  },
  'a boxes/<id> folder that is a symlink out of the home': (l, outside) => {
    const victim = join(outside, 'b', 'disks', 'container.qcow2');
    mkdirSync(join(outside, 'b', 'disks'), { recursive: true });
    qemuCreate(victim, { size: '1M' });
    rmSync(boxDir(l, 'b'), { recursive: true });
    symlinkSync(join(outside, 'b'), boxDir(l, 'b'));
    return { path: boxDir(l, 'b'), rule: 'symlinked-folder', code: 'E_FORBIDDEN', victim };
  },
  'a disks/ folder that is a symlink out of the home': (l, outside) => {
    const victim = join(outside, 'disks', 'container.qcow2');
    mkdirSync(join(outside, 'disks'), { recursive: true });
    qemuCreate(victim, { size: '1M' });
    rmSync(boxDisksDir(l, 'b'), { recursive: true });
    symlinkSync(join(outside, 'disks'), boxDisksDir(l, 'b'));
    return { path: boxDisksDir(l, 'b'), rule: 'symlinked-folder', code: 'E_FORBIDDEN', victim };
  },
  'a disk whose backing file is outside the home': (l, outside) => {
    const victim = join(outside, 'secret.qcow2');
    qemuCreate(victim, { size: '1M' });
    rmSync(boxDiskPath(l, 'b'));
    qemuCreate(boxDiskPath(l, 'b'), { backing: victim });
    return { path: victim, rule: 'backing-outside-home', code: 'E_FORBIDDEN', victim };
  },
  'a disk backed by a symlink in bases/ that points out of the home': (l, outside) => {
    const victim = join(outside, 'secret.qcow2');
    qemuCreate(victim, { size: '1M' });
    symlinkSync(victim, fakeBase(l, 'Zz99Zz99'));
    rmSync(boxDiskPath(l, 'b'));
    qemuCreate(boxDiskPath(l, 'b'), { backing: fakeBase(l, 'Zz99Zz99') });
    return { path: fakeBase(l, 'Zz99Zz99'), rule: 'backing-outside-home', code: 'E_FORBIDDEN', victim };
  },
  'a disk whose chain leaves the home two levels down (through a file in bases/)': (l, outside) => {
    const victim = join(outside, 'secret.qcow2');
    qemuCreate(victim, { size: '1M' });
    qemuCreate(fakeBase(l, 'Yy88Yy88'), { backing: victim });
    rmSync(boxDiskPath(l, 'b'));
    qemuCreate(boxDiskPath(l, 'b'), { backing: fakeBase(l, 'Yy88Yy88') });
    return { path: victim, rule: 'backing-outside-home', code: 'E_FORBIDDEN', victim };
  },
};

async function homeWithBox(): Promise<{ home: string; d: InProcessDriver }> {
  const home = join(newHome(), 'home');
  const d = open(home);
  await d.run('box-create', { op: newOp('mk'), boxId: 'b', sizeBytes: 1048576 });
  return { home, d };
}

const refusal = (t: Trick) => expect.objectContaining({ code: t.code, details: expect.objectContaining({ path: t.path, rule: t.rule }) });

describe('forks refuse box disks that would reach outside the home', () => {
  it.each(Object.keys(tricks))('%s: snapshot and clone are refused, nothing changes, check reports it', async (name) => {
    const { home, d } = await homeWithBox();
    const outside = outsideDir();
    const t = tricks[name]!(d.layout, outside);
    const victimBefore = { mode: lstatSync(t.victim).mode, bytes: readFileSync(t.victim) };
    const files = filesOf([home, outside]);
    const rows = rowsOf(d.reader);

    await expect(d.run('snapshot-create', { op: newOp('snap'), boxId: 'b', name: 'pinned' })).rejects.toThrow(refusal(t));
    await expect(d.run('clone', { op: newOp('clone'), source: 'b', targets: ['c'] })).rejects.toThrow(refusal(t));
    await expect(d.run('clone', { op: newOp('clone'), source: 'b', targets: ['c'] })).rejects.toThrow(new RegExp(`refusing to fork: .*${t.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

    expect(filesOf([home, outside])).toEqual(files);
    expect(rowsOf(d.reader)).toEqual(rows);
    expect(listBases(d.reader, { includeTombstoned: true })).toEqual([]);
    expect(lstatSync(t.victim).mode).toBe(victimBefore.mode);
    expect(readFileSync(t.victim).equals(victimBefore.bytes)).toBe(true);

    d.close();
    const report = await recover(home, { repair: false });
    expect(report.problems).toContainEqual(expect.objectContaining({ subject: 'box', id: 'b', path: t.path, action: 'none', repaired: false, problem: expect.stringContaining(`[${t.rule}]`) }));
    expect(report.summary.needsAttention).toBeGreaterThan(0);
    // A CLI command's own start-up skips this report-only pass (nobody reads it; the fork refuses anyway).
    expect((await recover(home, { repair: false, reports: false })).problems.filter((p) => p.subject === 'box')).toEqual([]);
    // Report only: a repairing run leaves the box and the outside file alone too.
    await recover(home, { repair: true, fsync: false });
    expect(lstatSync(t.victim).mode).toBe(victimBefore.mode);
    expect(readFileSync(t.victim).equals(victimBefore.bytes)).toBe(true);
  });

  it('the fork step refuses by itself a disk made a hard link after the probe, and undoes the fork (no base row)', async () => {
    const home = join(newHome(), 'home');
    const outside = outsideDir();
    let made: { t: Trick; files: string[]; mode: number } | null = null;
    const d = open(home, {
      beforePortCall: (call) => {
        if (call.port !== 'files' || call.task !== 'fork' || made) return;
        const t = tricks['a disk that is a hard link to a file outside the home']!(d.layout, outside);
        made = { t, files: filesOf([home, outside]), mode: lstatSync(t.victim).mode };
      },
    });
    await d.run('box-create', { op: newOp('mk'), boxId: 'b', sizeBytes: 1048576 });
    await expect(d.run('clone', { op: newOp('clone'), source: 'b', targets: ['c'] })).rejects.toThrow(
      expect.objectContaining({ code: 'E_FORBIDDEN', details: expect.objectContaining({ rule: 'hard-link' }) }),
    );
    expect(made).not.toBeNull();
    const { t, files, mode } = made!;
    expect(filesOf([home, outside])).toEqual(files);
    expect(lstatSync(t.victim).mode).toBe(mode);
    expect(listBases(d.reader, { includeTombstoned: true })).toEqual([]);
    expect(d.reader.prepare("SELECT id FROM box ORDER BY id").pluck().all()).toEqual(['b']);
  });

  it('still forks what is the home’s own: a chain of bases, a box on the rootfs cache', async () => {
    const { home, d } = await homeWithBox();
    await d.run('clone', { op: newOp('c1'), source: 'b', targets: ['c'] });
    await d.run('snapshot-create', { op: newOp('s1'), boxId: 'c', name: 'deeper' }); // c reads base → base
    const raw = rawExt4Image(join(outsideDir(), 'root.ext4'), 8);
    await d.run('rootfs-import', { op: newOp('ri'), key: 'debian-12', image: raw });
    await d.run('box-create', { op: newOp('rb'), boxId: 'r', rootfs: 'debian-12' });
    await d.run('clone', { op: newOp('c2'), source: 'r', targets: ['r2'] });
    d.close();
    expect((await recover(home, { repair: false })).problems).toEqual([]);
  });
});
