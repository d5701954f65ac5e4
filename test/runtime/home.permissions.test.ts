/**
 * Nothing in a home is readable by other users (DESIGN invariant 7): folders
 * 0700, box disks and the database 0600, bases 0400, run/ 0700; with
 * FORKPOINT_GROUP the home is 2750 with that group, folders 0750, disks and
 * database 0640, bases 0440 (run/ stays 0700). Checked on every path of a
 * home the in-process driver made, and (as root, which CI is) by reading the
 * files as another user.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { homeLayout } from '../../src/layout.js';
import { startEmbeddedRedis } from '../../src/runtime/embedded-redis.js';
import { readOrMintHomeId } from '../../src/runtime/home-id.js';
import { ownerNow, tryLockHome, type HomeLock } from '../../src/runtime/home-lock.js';
import { modesFor, resolveGroupId } from '../../src/runtime/home-mode.js';
import { openInProcess } from '../../src/workers/in-process.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-perms-');
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
/** A gid nobody has, for the operator group (root may chown to any gid). */
const OPERATOR_GID = 4242;

const locks: HomeLock[] = [];
afterEach(() => {
  for (const lock of locks.splice(0)) lock.release();
  vi.unstubAllEnvs();
  vi.resetModules();
});

/** A folder other users can enter, so that the home's own modes are what keeps them out. */
function openParent(): string {
  const dir = tmp();
  chmodSync(dir, 0o755);
  return dir;
}

type Driver = ReturnType<typeof openInProcess>;

/** A home with a box, a clone (so a base), the home id and the home lock's files in run/. */
async function makeHome(home: string, open: (home: string) => Driver = (h) => openInProcess(h, { fsync: false })): Promise<void> {
  const d = open(home);
  try {
    await d.run('box-create', { op: 'o1', boxId: 'b', sizeBytes: 1048576 });
    await d.run('clone', { op: 'o2', source: 'b', targets: ['c'] });
  } finally {
    d.close();
  }
  readOrMintHomeId(home);
  const lock = tryLockHome(homeLayout(home).runDir, ownerNow('cli', 'test'));
  expect(lock).not.toBeNull();
  lock!.update({ redisUrl: 'redis://x' }); // owner.json is there while the lock is held (released after the test)
  locks.push(lock!);
}

/** Every path under `home` (itself included), relative, with its lstat. */
function walk(home: string): { rel: string; mode: number; gid: number; kind: 'dir' | 'file' | 'other' }[] {
  const out: { rel: string; mode: number; gid: number; kind: 'dir' | 'file' | 'other' }[] = [];
  const visit = (path: string) => {
    const st = lstatSync(path);
    out.push({ rel: relative(home, path) || '.', mode: st.mode & 0o7777, gid: st.gid, kind: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other' });
    if (st.isDirectory()) for (const name of readdirSync(path).sort()) visit(join(path, name));
  };
  visit(home);
  return out;
}

/** What each path's mode must be. */
function expectedMode(rel: string, kind: string, m: ReturnType<typeof modesFor>): number | 'private' {
  if (rel === 'run' || rel.startsWith('run/')) return kind === 'dir' ? m.run : 'private';
  if (kind === 'dir') return rel === '.' ? m.dir : m.dir & 0o777; // setgid: only asked of the home, inherited below (not asserted)
  if (rel.startsWith('bases/')) return m.base;
  if (rel.startsWith('db/') || /^boxes\/[^/]+\/disks\/container\.qcow2$/.test(rel)) return m.file;
  return 'private';
}

function expectModes(home: string, m: ReturnType<typeof modesFor>): string[] {
  const entries = walk(home);
  const wrong: string[] = [];
  for (const e of entries) {
    if (e.kind === 'other') {
      wrong.push(`${e.rel}: not a file or folder`);
      continue;
    }
    const want = expectedMode(e.rel, e.kind, m);
    const got = e.kind === 'dir' && e.rel !== '.' ? e.mode & 0o777 : e.mode;
    if (want === 'private' ? (e.mode & 0o077) !== 0 : got !== want) {
      wrong.push(`${e.rel}: mode ${got.toString(8)}, want ${want === 'private' ? 'no group/other bits' : want.toString(8)}`);
    }
  }
  expect(wrong).toEqual([]);
  return entries.map((e) => e.rel);
}

/** `cat` as another user: uid nobody, the given gid, no supplementary groups. */
function catAs(gid: number, file: string): { status: number | null; stderr: string } {
  const r = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${gid}`, '--clear-groups', 'cat', file], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe('home permissions: nothing in a home is readable by other users', () => {
  it('gives every path under a new home its mode: folders 0700, disks and db 0600, bases 0400, run/ 0700', async () => {
    const home = join(tmp(), 'home');
    await makeHome(home);
    const d = openInProcess(home, { fsync: false }); // open: the db's -wal and -shm are there too
    let paths: string[];
    try {
      paths = expectModes(home, modesFor(undefined));
    } finally {
      d.close();
    }
    // The walk saw what it is about: the home id, the db, a base, both disks, run/'s files.
    expect(paths).toEqual(
      expect.arrayContaining(['home-id', 'db/forkpoint.db', 'db/forkpoint.db-wal', 'db/forkpoint.db-shm', 'boxes/b/disks/container.qcow2', 'boxes/c/disks/container.qcow2', 'run/owner.lock', 'run/owner.json']),
    );
    expect(paths.filter((p) => p.startsWith('bases/'))).toHaveLength(1);
  });

  it('tightens a home made before (0755 folders, 0644 db) when a writer opens it', async () => {
    const home = join(tmp(), 'home');
    await makeHome(home);
    const l = homeLayout(home);
    for (const dir of [home, l.dbDir, l.basesDir, l.boxesDir, l.runDir]) chmodSync(dir, 0o755);
    chmodSync(l.dbPath, 0o644);
    openInProcess(home, { fsync: false }).close();
    for (const dir of [home, l.dbDir, l.basesDir, l.boxesDir, l.runDir]) expect((statSync(dir).mode & 0o7777).toString(8), dir).toBe('700');
    expect((statSync(l.dbPath).mode & 0o777).toString(8)).toBe('600');
  });

  it('keeps embedded Redis in run/ 0700: its socket, AOF, pid file and folders too, whatever the umask', async () => {
    const home = join(tmp(), 'home');
    await makeHome(home);
    const umask = process.umask(0o022); // an everyday umask: redis-server's files were 0644 under it
    let redis;
    try {
      redis = await startEmbeddedRedis(homeLayout(home).runDir);
    } finally {
      process.umask(umask);
    }
    try {
      expect(statSync(homeLayout(home).runDir).mode & 0o777).toBe(0o700);
      expect(lstatSync(redis.socket).mode & 0o077).toBe(0);
      const inRun = walk(homeLayout(home).runDir);
      expect(inRun.map((e) => e.rel)).toEqual(expect.arrayContaining([expect.stringMatching(/appendonly/), expect.stringMatching(/redis\.pid$/)]));
      for (const e of inRun) expect([e.rel, e.mode & 0o077]).toEqual([e.rel, 0]);
    } finally {
      await redis.stop();
    }
  });

  // setpriv can only switch users as root (CI runs as root); elsewhere this is reported as skipped.
  it.skipIf(!isRoot)('refuses another user every file of the home (setpriv as uid 65534) [skipped unless root]', async () => {
    const parent = openParent();
    const control = join(parent, 'readable.txt');
    writeFileSync(control, 'anyone\n', { mode: 0o644 });
    // Proves setpriv works here and the parent is open to others: what fails below fails on the home.
    expect(catAs(NOBODY, control)).toMatchObject({ status: 0 });
    const home = join(parent, 'home');
    await makeHome(home);
    const files = walk(home).filter((e) => e.kind === 'file').map((e) => join(home, e.rel));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) expect(catAs(NOBODY, file).status, file).not.toBe(0);
    // And not only because of the home folder: open it up, the files themselves still refuse.
    chmodSync(home, 0o755);
    const l = homeLayout(home);
    for (const dir of walk(home).filter((e) => e.kind === 'dir').map((e) => join(home, e.rel))) chmodSync(dir, 0o755);
    const base = readdirSync(l.basesDir).map((n) => join(l.basesDir, n))[0]!;
    for (const file of [l.dbPath, base, join(l.boxesDir, 'b', 'disks', 'container.qcow2')]) {
      const r = catAs(NOBODY, file);
      expect(r.status, file).not.toBe(0);
      expect(r.stderr).toMatch(/Permission denied/);
    }
  });
});

describe('home permissions: FORKPOINT_GROUP', () => {
  it('maps an unset or blank group to owner-only modes, a group to 2750/0640/0440', () => {
    expect(modesFor(undefined)).toEqual({ group: null, dir: 0o700, file: 0o600, base: 0o400, run: 0o700 });
    expect(modesFor('  ')).toEqual(modesFor(undefined));
    expect(modesFor('ops')).toEqual({ group: 'ops', dir: 0o2750, file: 0o640, base: 0o440, run: 0o700 });
  });

  it('resolves a gid or a group name, and refuses an unknown one by name', () => {
    expect(resolveGroupId('4242')).toBe(4242);
    expect(resolveGroupId('root')).toBe(0);
    expect(() => resolveGroupId('no-such-group-fp')).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT, details: { field: 'FORKPOINT_GROUP' } }));
    expect(() => resolveGroupId('../x')).toThrow(/FORKPOINT_GROUP: not a group name/);
  });

  it('gives the home to the operator group: home 2750, folders 0750, disks and db 0640, bases 0440, run/ 0700', async () => {
    // As root any gid will do; otherwise our own group (we may chown to it).
    const gid = isRoot ? OPERATOR_GID : process.getgid!();
    vi.stubEnv('FORKPOINT_GROUP', String(gid));
    vi.resetModules();
    const fresh = await import('../../src/workers/in-process.js');
    const parent = openParent();
    const home = join(parent, 'home');
    await makeHome(home, (h) => fresh.openInProcess(h, { fsync: false }));
    expectModes(home, modesFor(String(gid)));
    const l = homeLayout(home);
    expect(statSync(home).gid).toBe(gid);
    const base = join(l.basesDir, readdirSync(l.basesDir)[0]!);
    const disk = join(l.boxesDir, 'c', 'disks', 'container.qcow2');
    for (const path of [l.dbPath, l.basesDir, l.boxesDir, base, disk]) expect(statSync(path).gid, path).toBe(gid);
    if (!isRoot) return; // reading as others needs setpriv as root
    for (const file of [disk, base, l.dbPath]) {
      expect(catAs(gid, file).status, `${file} as the operator group`).toBe(0);
      expect(catAs(NOBODY, file).status, `${file} as another group`).not.toBe(0);
    }
    expect(catAs(gid, join(l.runDir, 'owner.json')).status, 'run/ stays owner-only').not.toBe(0);
  });

  it('refuses to open a home for an unknown group, naming FORKPOINT_GROUP', async () => {
    vi.stubEnv('FORKPOINT_GROUP', 'no-such-group-fp');
    vi.resetModules();
    const fresh = await import('../../src/workers/in-process.js');
    expect(() => fresh.openInProcess(join(tmp(), 'home'), { fsync: false })).toThrow(/FORKPOINT_GROUP: no such group/);
  });
});
