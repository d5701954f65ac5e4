/**
 * Who may read a home (DESIGN invariant 7: nothing in a home is readable by
 * other users). A service often runs as root, so what it keeps is private to
 * its user: folders 0700, box disks and the database 0600, bases 0400.
 *
 * `FORKPOINT_GROUP` (a group name or a numeric gid) lets one operator group
 * read too: the home is then 2750 with that group (setgid, so every folder
 * and file made inside takes the group), folders 0750, box disks and the
 * database 0640, bases 0440. `run/` (lock, owner file, embedded Redis socket)
 * stays 0700 either way.
 *
 * Read once per process: the modes when this module is first used, the group
 * id when a writer first secures a home (an unknown group is refused there).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { ErrorCodes, ForkpointError, fromFsError } from '../errors.js';
import type { HomeLayout } from '../layout.js';

export interface HomeModes {
  /** FORKPOINT_GROUP as given, or null (nobody but the owner reads the home). */
  group: string | null;
  /** The home and every folder in it but run/. */
  dir: number;
  /** Box disks, the database files, the home id. */
  file: number;
  /** Base files: read-only (invariant 6). */
  base: number;
  /** run/: the lock, the owner file and the embedded Redis socket; owner only. */
  run: number;
}

/** The modes for a FORKPOINT_GROUP value (unset or blank: no group). Pure. */
export function modesFor(group: string | undefined): HomeModes {
  const g = group?.trim() || null;
  return g === null
    ? { group: null, dir: 0o700, file: 0o600, base: 0o400, run: 0o700 }
    : { group: g, dir: 0o2750, file: 0o640, base: 0o440, run: 0o700 };
}

/**
 * Make a home, or a folder a home keeps (bases/, boxes/, run/), with its parents. Something else
 * in its place, or a file among its parents (a mistyped --home), is refused by name: an fs error
 * there was a stack trace.
 */
export function makeHomeFolder(dir: string, mode: number): void {
  try {
    mkdirSync(dir, { recursive: true, mode });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw fromFsError(err, dir, 'cannot make the folder');
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `${dir} cannot be a forkpoint home's folder: it, or a folder above it, is not a folder`, { path: dir, field: 'home' });
  }
}

let modes: HomeModes | undefined;
/** This process's modes (FORKPOINT_GROUP, read once). */
export function homeModes(): HomeModes {
  return (modes ??= modesFor(process.env.FORKPOINT_GROUP));
}

const GROUP_NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;
const MAX_GID = 0xfffffffe;

function badGroup(spec: string, why: string): ForkpointError {
  return new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `FORKPOINT_GROUP: ${why} (got "${spec.slice(0, 64)}")`, { field: 'FORKPOINT_GROUP' });
}

/** A gid from a number or a group name (`getent group`, so NSS groups count; /etc/group without getent). */
export function resolveGroupId(spec: string): number {
  if (/^\d+$/.test(spec)) {
    const gid = Number(spec);
    if (gid > MAX_GID) throw badGroup(spec, `a gid is at most ${MAX_GID}`);
    return gid;
  }
  if (!GROUP_NAME_RE.test(spec)) throw badGroup(spec, 'not a group name or a numeric gid');
  let lines: string;
  try {
    lines = execFileSync('getent', ['group', spec], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (err) {
    // getent exits 2 for an unknown group; only a missing getent falls back to the file.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw badGroup(spec, 'no such group');
    lines = readFileSync('/etc/group', 'utf8');
  }
  for (const line of lines.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === spec && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw badGroup(spec, 'no such group');
}

let gid: number | null | undefined;
/** The operator group's gid, or null when none is set (resolved once). */
export function homeGroupId(): number | null {
  if (gid === undefined) {
    const { group } = homeModes();
    gid = group === null ? null : resolveGroupId(group);
  }
  return gid;
}

/** Give `path` exactly `mode` (and the operator group) unless it has them; a path that is not there is skipped. */
function tighten(path: string, mode: number, group: number | null): void {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw fromFsError(err, path, 'cannot secure');
  }
  if (st.isSymbolicLink()) return; // never follow a link out of the home (the fork guard refuses such folders)
  try {
    if (group !== null && st.gid !== group) chownSync(path, -1, group);
    if ((st.mode & 0o7777) !== mode) chmodSync(path, mode);
  } catch (err) {
    throw fromFsError(err, path, `cannot give mode ${mode.toString(8)}${group !== null ? ` and group ${group}` : ''} to`);
  }
}

/**
 * Make a home private, as a writer opening it does: the home folder, the
 * folders forkpoint keeps in it and the database files get their modes (and
 * the operator group). Files made before (box disks, bases) keep theirs: the
 * home folder alone already keeps other users out, and every new file is
 * made with its mode.
 */
export function secureHome(layout: HomeLayout): void {
  const m = homeModes();
  const group = homeGroupId();
  tighten(layout.home, m.dir, group);
  for (const dir of [layout.dbDir, layout.basesDir, layout.boxesDir]) tighten(dir, m.dir, group);
  tighten(layout.runDir, m.run, null);
  for (const file of [layout.dbPath, `${layout.dbPath}-wal`, `${layout.dbPath}-shm`]) tighten(file, m.file, group);
}
