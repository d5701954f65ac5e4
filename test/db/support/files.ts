/**
 * A home's files and records, to compare before and after: every file under
 * bases/, boxes/ and trash/ with its inode, size, mode, mtime and bytes (so a
 * move, a rewrite or a chmod shows), and the rows of the database when it can
 * be read.
 */
import Sqlite from 'better-sqlite3';
import { existsSync, lstatSync, readdirSync, utimesSync } from 'node:fs';
import { join, relative } from 'node:path';
import { homeLayout } from '../../../src/layout.js';
import { sha256 } from '../../helpers/qemu.js';

export interface FileFacts {
  ino: number;
  size: number;
  mode: string;
  mtimeMs: number;
  sha256: string;
}

/** Files under bases/, boxes/ and trash/ by path relative to the home. */
export function filesOf(home: string, dirs: readonly string[] = ['bases', 'boxes', 'trash']): Record<string, FileFacts> {
  const out: Record<string, FileFacts> = {};
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        walk(p);
        continue;
      }
      const st = lstatSync(p);
      out[relative(home, p)] = { ino: st.ino, size: st.size, mode: (st.mode & 0o7777).toString(8), mtimeMs: st.mtimeMs, sha256: e.isFile() ? sha256(p) : '' };
    }
  };
  for (const d of dirs) walk(join(home, d));
  return out;
}

export interface Records {
  bases: Record<string, unknown>[];
  boxes: Record<string, unknown>[];
  refs: Record<string, unknown>[];
}

/** The rows that describe files (the journal aside), read-only; null when there is no readable database. */
export function recordsOf(home: string): Records | null {
  const { dbPath } = homeLayout(home);
  if (!existsSync(dbPath) || lstatSync(dbPath).size === 0) return null;
  const db = new Sqlite(dbPath, { readonly: true, fileMustExist: true });
  try {
    return {
      bases: db.prepare('SELECT id, kind, name, state, base_path, parent_id, source_box_id, tombstoned FROM base_disk ORDER BY id').all() as Record<string, unknown>[],
      boxes: db.prepare('SELECT id, state, disk_path, base_id FROM box ORDER BY id').all() as Record<string, unknown>[],
      refs: db.prepare('SELECT base_disk_id, box_id FROM base_disk_ref ORDER BY base_disk_id, box_id').all() as Record<string, unknown>[],
    };
  } finally {
    db.close();
  }
}

/** Set every file under bases/ and boxes/ `days` days into the past (past recovery's 24 h grace period). */
export function ageFiles(home: string, days = 2): void {
  const when = (Date.now() - days * 24 * 3600 * 1000) / 1000;
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) utimesSync(p, when, when);
    }
  };
  walk(join(home, 'bases'));
  walk(join(home, 'boxes'));
}
