/**
 * Opening the one SQLite file of a home. The writer connection creates and
 * migrates it; reader connections are read-only and never migrate. Both
 * refuse, before touching the file, a file that is not SQLite
 * (E_DB_INVALID) or a schema newer than this code (E_DB_NEWER).
 *
 * A home's database is created only in a home that holds nothing yet: a home
 * whose bases/ or boxes/ hold anything but whose database is missing, empty or
 * never migrated is refused (E_DB_MISSING). A fresh database there would make
 * every base an "orphan" to recovery; the way out is restoring the file or
 * rebuilding the records from the files (`forkpoint check --rebuild`). And
 * every writer open checks the pages (`PRAGMA quick_check`): a damaged file is
 * refused (E_DB_INVALID) before anything is decided from it.
 */
import Sqlite, { type Database } from 'better-sqlite3';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { homeLayout } from '../layout.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** How long a connection waits for another's lock before failing (ms). */
export const BUSY_TIMEOUT_MS = 5_000;
/** Writer page cache, KiB. */
export const WRITER_CACHE_KIB = 64 * 1024;
/** How many of SQLite's findings a damaged-database error carries. */
const MAX_FINDINGS = 10;

export interface OpenOptions {
  readonly?: boolean;
  /**
   * Check every page first and refuse a damaged file (E_DB_INVALID). Writer
   * opens: default true, `PRAGMA quick_check` (on the writable connection, so
   * CHECK constraints are evaluated too). Read-only opens: default false;
   * `forkpoint check` asks for `PRAGMA integrity_check`, which also matches
   * every index against its table.
   */
  verify?: boolean;
}

/** The home a database path belongs to, when it is a home's `<home>/db/forkpoint.db`; else null. */
export function homeOfDbPath(path: string): string | null {
  const home = dirname(dirname(path));
  return homeLayout(home).dbPath === path ? home : null;
}

/** What a home holds that records describe: entries in bases/ and in boxes/ (an empty folder is nothing). */
export function homeContent(home: string): { bases: number; boxes: number } {
  const count = (dir: string) => (existsSync(dir) ? readdirSync(dir).length : 0);
  const l = homeLayout(home);
  return { bases: count(l.basesDir), boxes: count(l.boxesDir) };
}

/**
 * The two ways out of an unusable database, for every message that refuses
 * one. A file that is there must be moved aside first: the rebuild never
 * writes over a database (it may still be restored by hand).
 */
export function wayOut(path: string, present: boolean): string {
  const home = homeOfDbPath(path);
  if (home === null) return `Restore ${path} from a backup`;
  const aside = present ? `move it aside (mv ${path} ${path}.damaged, with any -wal and -shm file) and ` : '';
  return `Restore ${path} from a backup, or ${aside}rebuild the records from the files: forkpoint --home ${home} check --rebuild`;
}

/**
 * A home with bases or boxes must have its database: refuse to start a fresh
 * one (or to read "no records" from a missing one) over its files.
 */
function refuseHomeWithoutDatabase(path: string, why: string, present = false): void {
  const home = homeOfDbPath(path);
  if (home === null) return;
  const { bases, boxes } = homeContent(home);
  if (bases === 0 && boxes === 0) return;
  const wal = existsSync(`${path}-wal`) && statSync(`${path}-wal`).size > 0 ? ` (${path}-wal is still there: keep it with the database)` : '';
  throw new ForkpointError(
    ErrorCodes.DB_MISSING,
    `home ${home} has ${bases} file(s) in bases/ and ${boxes} folder(s) in boxes/ but no database: ${path} ${why}${wal}; ` +
      `refusing to start a fresh one over them (every base would look like an orphan). ${wayOut(path, present)}`,
    { path, home, bases, boxes },
  );
}

/** Check the 16-byte header ourselves, so a foreign file is never opened (and so never changed). */
function assertSqliteFile(path: string): void {
  if (!existsSync(path)) return refuseHomeWithoutDatabase(path, 'does not exist');
  const size = statSync(path).size;
  if (size === 0) return refuseHomeWithoutDatabase(path, 'is empty (0 bytes)'); // else: a valid empty database
  const head = Buffer.alloc(SQLITE_MAGIC.length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (!head.equals(SQLITE_MAGIC)) {
    throw new ForkpointError(ErrorCodes.DB_INVALID, `${path} is not a SQLite database (bad header); refusing to open it. ${wayOut(path, true)}`, {
      path,
    });
  }
}

function readUserVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Every page read and checked (`quick_check`: b-trees, free list, records and,
 * on a writable connection, CHECK constraints; `integrity_check` also matches
 * every index against its table). Anything but "ok" refuses the file.
 */
export function verifyPages(db: Database, path: string, pragma: 'quick_check' | 'integrity_check'): void {
  const rows = db.pragma(`${pragma}(${MAX_FINDINGS})`, { simple: false }) as Record<string, string>[];
  // One line each (the error is one line on stderr), without SQLite's "*** in database main ***" banner.
  const findings = rows.map((r) => String(Object.values(r)[0] ?? '').replace(/\*\*\* in database \w+ \*\*\*/g, '').replace(/\s+/g, ' ').trim());
  if (findings.length === 1 && findings[0] === 'ok') return;
  throw new ForkpointError(
    ErrorCodes.DB_INVALID,
    `${path} is damaged (PRAGMA ${pragma}: ${findings[0]}${findings.length > 1 ? `, and ${findings.length - 1} more` : ''}); refusing to use it. ${wayOut(path, true)}`,
    { path, check: pragma, findings },
  );
}

function migrate(db: Database, from: number): void {
  for (let version = from + 1; version <= SCHEMA_VERSION; version++) {
    const step = MIGRATIONS[version - 1]!;
    db.transaction(() => {
      step(db);
      // PRAGMA takes no bound parameters; version is our own integer.
      db.pragma(`user_version = ${version}`);
    }).immediate();
  }
}

function refuseNewer(db: Database, path: string, version: number): void {
  if (version <= SCHEMA_VERSION) return;
  db.close();
  throw new ForkpointError(
    ErrorCodes.DB_NEWER,
    `${path} has schema version ${version}, newer than this forkpoint supports (${SCHEMA_VERSION}); upgrade forkpoint`,
    { path, found: version, supported: SCHEMA_VERSION },
  );
}

/**
 * Open (creating if needed) and migrate the database at `path`. Writer
 * connections get WAL and synchronous=FULL: a ref lost to a power cut could
 * let GC delete a base that a box still reads.
 */
export function openDatabase(path: string, options: OpenOptions = {}): Database {
  assertSqliteFile(path);
  if (options.readonly) return openReadonly(path, options.verify ?? false);
  mkdirSync(dirname(path), { recursive: true });
  let db: Database | undefined;
  try {
    db = new Sqlite(path);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Read the version before any pragma that writes (journal_mode does).
    const version = readUserVersion(db);
    refuseNewer(db, path, version);
    // Version 0 is a file no writer ever migrated: in a home with files, as good as none.
    if (version === 0) refuseHomeWithoutDatabase(path, 'holds no schema (version 0)', true);
    // Checked on the writable connection: a read-only one skips the CHECK constraints.
    else if (options.verify ?? true) verifyPages(db, path, 'quick_check');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    // 64 MiB of page cache (default 2 MiB): 100k bases with their refs, boxes and
    // indexes then stay in memory, so lookups cost the same at 1k and 100k records.
    db.pragma(`cache_size = -${WRITER_CACHE_KIB}`);
    migrate(db, version);
    return db;
  } catch (err) {
    if (db?.open) db.close();
    throw asOpenError(err, path);
  }
}

function openReadonly(path: string, verify: boolean): Database {
  if (!existsSync(path)) {
    throw new ForkpointError(ErrorCodes.NOT_FOUND, `${path}: no database yet (a writer creates it on first open)`, { path });
  }
  let db: Database | undefined;
  try {
    db = new Sqlite(path, { readonly: true, fileMustExist: true });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const version = readUserVersion(db);
    refuseNewer(db, path, version);
    if (version === 0) refuseHomeWithoutDatabase(path, 'holds no schema (version 0)', true);
    if (version < SCHEMA_VERSION) {
      throw new ForkpointError(
        ErrorCodes.DB_INVALID,
        `${path} has schema version ${version}, older than ${SCHEMA_VERSION}; open it with the writer once to migrate`,
        { path, found: version, supported: SCHEMA_VERSION },
      );
    }
    if (verify) verifyPages(db, path, 'integrity_check');
    return db;
  } catch (err) {
    if (db?.open) db.close();
    throw asOpenError(err, path);
  }
}

function asOpenError(err: unknown, path: string): unknown {
  if (err instanceof ForkpointError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new ForkpointError(ErrorCodes.DB_INVALID, `${path} is not a usable SQLite database: ${(err as Error).message}. ${wayOut(path, true)}`, {
      path,
      sqlite: code,
    }, { cause: err });
  }
  return new ForkpointError(ErrorCodes.IO, `cannot open database ${path}: ${(err as Error).message}`, { path }, { cause: err });
}
