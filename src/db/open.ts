/**
 * Opening the one SQLite file of a home. The writer connection creates and
 * migrates it; reader connections are read-only and never migrate. Both
 * refuse, before touching the file, a file that is not SQLite
 * (E_DB_INVALID) or a schema newer than this code (E_DB_NEWER).
 */
import Sqlite, { type Database } from 'better-sqlite3';
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** How long a connection waits for another's lock before failing (ms). */
export const BUSY_TIMEOUT_MS = 5_000;
/** Writer page cache, KiB. */
export const WRITER_CACHE_KIB = 64 * 1024;

export interface OpenOptions {
  readonly?: boolean;
}

/** Check the 16-byte header ourselves, so a foreign file is never opened (and so never changed). */
function assertSqliteFile(path: string): void {
  if (!existsSync(path)) return;
  const size = statSync(path).size;
  if (size === 0) return; // an empty file is a valid empty database
  const head = Buffer.alloc(SQLITE_MAGIC.length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (!head.equals(SQLITE_MAGIC)) {
    throw new ForkpointError(ErrorCodes.DB_INVALID, `${path} is not a SQLite database (bad header); refusing to open it`, {
      path,
    });
  }
}

function readUserVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
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
  if (options.readonly) return openReadonly(path);
  mkdirSync(dirname(path), { recursive: true });
  let db: Database;
  try {
    db = new Sqlite(path);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Read the version before any pragma that writes (journal_mode does).
    const version = readUserVersion(db);
    refuseNewer(db, path, version);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    // 64 MiB of page cache (default 2 MiB): 100k bases with their refs, boxes and
    // indexes then stay in memory, so lookups cost the same at 1k and 100k records.
    db.pragma(`cache_size = -${WRITER_CACHE_KIB}`);
    migrate(db, version);
    return db;
  } catch (err) {
    throw asOpenError(err, path);
  }
}

function openReadonly(path: string): Database {
  if (!existsSync(path)) {
    throw new ForkpointError(ErrorCodes.NOT_FOUND, `${path}: no database yet (a writer creates it on first open)`, { path });
  }
  try {
    const db = new Sqlite(path, { readonly: true, fileMustExist: true });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const version = readUserVersion(db);
    refuseNewer(db, path, version);
    if (version < SCHEMA_VERSION) {
      db.close();
      throw new ForkpointError(
        ErrorCodes.DB_INVALID,
        `${path} has schema version ${version}, older than ${SCHEMA_VERSION}; open it with the writer once to migrate`,
        { path, found: version, supported: SCHEMA_VERSION },
      );
    }
    return db;
  } catch (err) {
    throw asOpenError(err, path);
  }
}

function asOpenError(err: unknown, path: string): unknown {
  if (err instanceof ForkpointError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new ForkpointError(ErrorCodes.DB_INVALID, `${path} is not a usable SQLite database: ${(err as Error).message}`, {
      path,
    }, { cause: err });
  }
  return new ForkpointError(ErrorCodes.IO, `cannot open database ${path}: ${(err as Error).message}`, { path }, { cause: err });
}
