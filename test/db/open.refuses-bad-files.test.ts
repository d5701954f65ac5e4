import Sqlite from 'better-sqlite3';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isForkpointError } from '../../src/errors.js';
import { homeLayout } from '../../src/layout.js';
import { SCHEMA_VERSION } from '../../src/db/migrations.js';
import { openDatabase } from '../../src/db/open.js';
import { openReader } from '../../src/db/reader.js';
import { openWriter } from '../../src/db/writer.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { caught } from '../helpers/caught.js';

const tmp = useTmpDirs('forkpoint-db-open-');

describe('opening the database', () => {
  it('creates the schema with WAL, synchronous=FULL and foreign keys', () => {
    const home = tmp();
    const w = openWriter(home);
    try {
      const db = w.connection;
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
      expect(tables).toEqual(['base_disk', 'base_disk_ref', 'box', 'op']);
    } finally {
      w.close();
    }
  });

  it('refuses a file that is not SQLite, naming it, and leaves it unchanged', () => {
    const home = tmp();
    const { dbPath, dbDir } = homeLayout(home);
    mkdirSync(dbDir, { recursive: true });
    const junk = Buffer.from('this is a text file, not a database\n'.repeat(200));
    writeFileSync(dbPath, junk);
    const err = caught(() => openWriter(home));
    expect(isForkpointError(err, 'E_DB_INVALID')).toBe(true);
    expect((err as Error).message).toContain(dbPath);
    expect(readFileSync(dbPath).equals(junk)).toBe(true);
  });

  it('refuses a database newer than the code, naming both versions, and leaves it unchanged', () => {
    const home = tmp();
    const { dbPath, dbDir } = homeLayout(home);
    mkdirSync(dbDir, { recursive: true });
    const future = new Sqlite(dbPath);
    future.exec('CREATE TABLE t (x)');
    future.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    future.close();
    const before = readFileSync(dbPath);
    const err = caught(() => openDatabase(dbPath));
    expect(isForkpointError(err, 'E_DB_NEWER')).toBe(true);
    expect((err as Error).message).toContain(String(SCHEMA_VERSION + 5));
    expect((err as Error).message).toContain(`(${SCHEMA_VERSION})`);
    expect(readFileSync(dbPath).equals(before)).toBe(true);
    expect(isForkpointError(caught(() => openReader(home)), 'E_DB_NEWER')).toBe(true);
  });

  it('migrates a version-0 database forward', () => {
    const home = tmp();
    const { dbPath, dbDir } = homeLayout(home);
    mkdirSync(dbDir, { recursive: true });
    new Sqlite(dbPath).close(); // an empty database at user_version 0
    const db = openDatabase(dbPath);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });

  it('gives readers a read-only connection', () => {
    const home = tmp();
    openWriter(home).close();
    const r = openReader(home);
    try {
      expect(r.listBases()).toEqual([]);
      expect(() => r.connection.exec("INSERT INTO op VALUES ('x','y','done','{}','{}',0,0)")).toThrow(/readonly/);
    } finally {
      r.close();
    }
  });

  it('allows one writer per home in a process', () => {
    const home = tmp();
    const w = openWriter(home);
    try {
      expect(isForkpointError(caught(() => openWriter(join(home, '.'))), 'E_HOME_LOCKED')).toBe(true);
    } finally {
      w.close();
    }
    openWriter(home).close();
  });
});
