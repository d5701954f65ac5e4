/**
 * The single DB writer: the only holder of a write connection to a home's
 * database. Commands apply in call order, each in one BEGIN IMMEDIATE
 * transaction; `applyBatch` puts many in one transaction (one fsync) with a
 * SAVEPOINT each, so a refused command rolls back alone.
 */
import type { Database } from 'better-sqlite3';
import { mkdirSync, realpathSync } from 'node:fs';
import { ErrorCodes, ForkpointError, type ErrorCode, type ErrorDetails } from '../errors.js';
import { mintBaseId } from '../ids.js';
import { homeLayout, type HomeLayout } from '../layout.js';
import type { CommandContext } from './commands/context.js';
import { parseCommand } from './commands/schema.js';
import { runJournaled } from './journal.js';
import { openDatabase } from './open.js';
import { homeModes, secureHome } from '../runtime/home-mode.js';
import type { ResultOf, WriterCommand } from './types.js';

export interface WriterOptions {
  now?: () => number;
  mintId?: () => string;
  /**
   * Check every page at open (`PRAGMA quick_check`; default true): a damaged
   * database is refused before anything is decided from it. Only for a second
   * open right after a checked one in the same process.
   */
  verify?: boolean;
}

/** One command's outcome in a batch: plain data, so it can cross a thread port. */
export type BatchOutcome =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: ErrorCode; message: string; details: ErrorDetails } };

/** Homes with an open writer in this process (a second writer would break "exactly one"). */
const openHomes = new Set<string>();

/** Canonical home path: stored base paths are compared as strings, so symlinks must be resolved once here. A new home is private (0700). */
export function canonicalHome(home: string): string {
  mkdirSync(home, { recursive: true, mode: homeModes().dir });
  return realpathSync(home);
}

export class DbWriter {
  readonly layout: HomeLayout;
  /** The write connection. Tests and recovery may read through it; never write outside a command. */
  readonly connection: Database;
  private readonly ctx: CommandContext;
  private closed = false;

  private constructor(layout: HomeLayout, connection: Database, options: WriterOptions) {
    this.layout = layout;
    this.connection = connection;
    this.ctx = { layout, now: options.now ?? Date.now, mintId: options.mintId ?? mintBaseId };
  }

  static open(home: string, options: WriterOptions = {}): DbWriter {
    const layout = homeLayout(canonicalHome(home));
    if (openHomes.has(layout.home)) {
      throw new ForkpointError(ErrorCodes.HOME_LOCKED, `a DB writer is already open for ${layout.home} in this process`, {
        path: layout.home,
      });
    }
    const db = openDatabase(layout.dbPath, { verify: options.verify ?? true });
    try {
      secureHome(layout); // nothing in a home is readable by other users (invariant 7); SQLite gives -wal/-shm the db's mode
    } catch (err) {
      db.close();
      throw err;
    }
    openHomes.add(layout.home);
    return new DbWriter(layout, db, options);
  }

  /** Validate and apply one command in its own transaction; throws its ForkpointError. */
  apply<C extends WriterCommand>(command: C): ResultOf<C> {
    this.assertOpen();
    const cmd = parseCommand(command);
    try {
      return this.connection.transaction(() => runJournaled(this.connection, cmd, this.ctx)).immediate() as ResultOf<C>;
    } catch (err) {
      throw asCommandError(err, cmd);
    }
  }

  /**
   * Apply commands that must land together, in one transaction: all of them or
   * (the first refusal is thrown) none. For repairs made of two commands, where
   * a crash between them would leave a state that no later pass revisits.
   */
  applyAll(commands: readonly WriterCommand[]): unknown[] {
    this.assertOpen();
    const cmds = commands.map((c) => parseCommand(c));
    let current: WriterCommand | undefined;
    try {
      return this.connection
        .transaction(() =>
          cmds.map((cmd) => {
            current = cmd;
            return runJournaled(this.connection, cmd, this.ctx);
          }),
        )
        .immediate();
    } catch (err) {
      throw asCommandError(err, current);
    }
  }

  /**
   * Apply many commands in one transaction, in order. Each runs in its own
   * savepoint: a refused command is rolled back and reported, the others
   * commit. Results are positional.
   */
  applyBatch(commands: readonly unknown[]): BatchOutcome[] {
    this.assertOpen();
    const db = this.connection;
    return db
      .transaction(() =>
        commands.map((input): BatchOutcome => {
          try {
            const cmd = parseCommand(input);
            // A nested better-sqlite3 transaction is a SAVEPOINT.
            const result = db.transaction(() => runJournaled(db, cmd, this.ctx))();
            return { ok: true, value: result };
          } catch (err) {
            return { ok: false, error: asCommandError(err, input).toJSON() };
          }
        }),
      )
      .immediate();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    openHomes.delete(this.layout.home);
    this.connection.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new ForkpointError(ErrorCodes.SHUTTING_DOWN, `the DB writer for ${this.layout.home} is closed`);
  }
}

export function openWriter(home: string, options: WriterOptions = {}): DbWriter {
  return DbWriter.open(home, options);
}

/** Everything a command throws becomes a ForkpointError naming the command. */
function asCommandError(err: unknown, cmd: unknown): ForkpointError {
  if (err instanceof ForkpointError) return err;
  const type = (cmd as { type?: unknown } | null)?.type;
  const code = (err as { code?: string }).code ?? '';
  const what = `writer command ${typeof type === 'string' ? type : '?'}`;
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    return new ForkpointError(ErrorCodes.CONFLICT, `${what} violates a record constraint: ${(err as Error).message}`, {}, {
      cause: err,
    });
  }
  return fromSqliteError(err, what);
}

/** An SQLite failure outside any command's own logic: a full disk is E_NO_SPACE (retryable, like a file's), the rest E_IO. */
export function fromSqliteError(err: unknown, what: string): ForkpointError {
  if (err instanceof ForkpointError) return err;
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_FULL') return new ForkpointError(ErrorCodes.NO_SPACE, `${what} failed: ${(err as Error).message}`, { sqlite: code }, { cause: err });
  return new ForkpointError(ErrorCodes.IO, `${what} failed: ${(err as Error).message}`, { sqlite: code }, { cause: err });
}
