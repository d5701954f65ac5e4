/**
 * `<home>/trash/`: where recovery puts the files it decides are orphans,
 * instead of unlinking them (DESIGN invariant 8: every removal recovery makes
 * on its own judgement is reversible). Each entry is the file itself, renamed
 * to `<UTC stamp>-<its name>`, and a sidecar `<entry>.why.json` saying where
 * it came from, when and why. Restoring is one `mv` back to `from`.
 *
 * Entries are purged once older than the retention (7 days): by a repairing
 * recovery (every start-up), or all at once by `forkpoint check --purge-trash`.
 * Nothing reads the trash: no record points into it and no job uses it, so a
 * purge needs no lock. Only this module writes there.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fromFsError } from '../../errors.js';
import type { HomeLayout } from '../../layout.js';
import { fsyncFile, fsyncFolder } from '../../qcow2/durable.js';

/** How long a trashed file is kept before a repairing recovery purges it. */
export const TRASH_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
const NOTE_SUFFIX = '.why.json';
/** `20250102T030405.123Z`: sorts by time, no characters a shell or a file system minds. */
const STAMP_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z-/;

export const trashDir = (layout: HomeLayout): string => join(layout.home, 'trash');

/** The sidecar of a trashed file. */
export interface TrashNote {
  /** Where the file was: `mv <entry> <from>` restores it. */
  from: string;
  trashedAt: number;
  /** What recovery found. */
  why: string;
  /** From this time on a repairing recovery deletes it. */
  purgeAfter: number;
}

export interface TrashEntry {
  /** The trashed file (its sidecar is `path + '.why.json'`). */
  path: string;
  /** null: the sidecar is missing or unreadable (the name's stamp still dates it). */
  note: TrashNote | null;
  trashedAt: number | null;
  bytes: number;
}

export interface TrashSummary {
  entries: number;
  bytes: number;
  /** Entries past the retention: a repairing recovery purges them (a dry run only counts them). */
  due: number;
  /** Entries this run deleted for good (repair), with where each came from. */
  purged: { path: string; from: string | null }[];
}

function stampOf(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '');
}

function timeOfName(name: string): number | null {
  const m = STAMP_RE.exec(name);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, ms] = m.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, ms!);
}

/**
 * Move `path` into the trash with its reason; returns the entry's path. The
 * sidecar is written first, so a crash leaves either the file where it was
 * (with a sidecar that a purge drops) or the file in the trash, dated. The
 * file keeps its inode, mode and times (a rename: same file system as the home).
 */
export function moveToTrash(layout: HomeLayout, path: string, why: string, o: { now: number; retentionMs?: number; fsync?: boolean }): string {
  const dir = trashDir(layout);
  if (!existsSync(dir)) {
    // As private as the folder the file comes from.
    const mode = statSync(dirname(path)).mode & 0o7777;
    mkdirSync(dir, { mode });
  }
  const name = `${stampOf(o.now)}-${basename(path)}`;
  let entry = join(dir, name);
  for (let n = 2; existsSync(entry) || existsSync(entry + NOTE_SUFFIX); n++) entry = join(dir, `${name}.${n}`);
  const note: TrashNote = { from: path, trashedAt: o.now, why, purgeAfter: o.now + (o.retentionMs ?? TRASH_RETENTION_MS) };
  const fsync = o.fsync ?? true;
  try {
    writeFileSync(entry + NOTE_SUFFIX, `${JSON.stringify(note, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    if (fsync) fsyncFile(entry + NOTE_SUFFIX);
    renameSync(path, entry);
  } catch (err) {
    throw fromFsError(err, path, 'cannot move to the trash');
  }
  if (fsync) {
    fsyncFolder(dir);
    fsyncFolder(dirname(path));
  }
  return entry;
}

function readNote(entry: string): TrashNote | null {
  try {
    const note = JSON.parse(readFileSync(entry + NOTE_SUFFIX, 'utf8')) as Partial<TrashNote>;
    return typeof note.from === 'string' && typeof note.trashedAt === 'number' ? (note as TrashNote) : null;
  } catch {
    return null;
  }
}

/** What the trash holds, oldest first. A sidecar whose file is gone is listed too (bytes 0), so a purge drops it. */
export function listTrash(layout: HomeLayout): TrashEntry[] {
  const dir = trashDir(layout);
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir);
  const entries = new Set(names.map((n) => (n.endsWith(NOTE_SUFFIX) ? n.slice(0, -NOTE_SUFFIX.length) : n)));
  return [...entries].sort().map((name) => {
    const path = join(dir, name);
    const note = readNote(path);
    let bytes = 0;
    try {
      bytes = lstatSync(path).size;
    } catch {
      // only the sidecar is left
    }
    return { path, note, trashedAt: note?.trashedAt ?? timeOfName(name), bytes };
  });
}

/**
 * Delete trashed files for good: those past the retention, or every one
 * (`all`, the explicit purge). An entry that cannot be dated (no sidecar, no
 * stamp: nothing this module made) is only removed by `all`.
 */
export function purgeTrash(layout: HomeLayout, o: { now: number; retentionMs?: number; all?: boolean; dryRun?: boolean; fsync?: boolean }): TrashSummary {
  const retention = o.retentionMs ?? TRASH_RETENTION_MS;
  const entries = listTrash(layout);
  const isDue = (e: TrashEntry) => o.all === true || (e.trashedAt !== null && e.trashedAt + retention <= o.now);
  const due = entries.filter(isDue);
  const purged: TrashSummary['purged'] = [];
  if (!o.dryRun) {
    for (const e of due) {
      for (const p of [e.path, e.path + NOTE_SUFFIX]) {
        try {
          unlinkSync(p);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromFsError(err, p, 'cannot purge from the trash');
        }
      }
      purged.push({ path: e.path, from: e.note?.from ?? null });
    }
    if (purged.length > 0 && (o.fsync ?? true)) fsyncFolder(trashDir(layout));
  }
  const left = entries.filter((e) => o.dryRun || !isDue(e));
  return { entries: left.length, bytes: left.reduce((n, e) => n + e.bytes, 0), due: o.dryRun ? due.length : 0, purged };
}
