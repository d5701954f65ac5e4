/**
 * A home's database written anew from records that were rebuilt from its
 * files (`forkpoint check --rebuild`; src/workers/recovery/rebuild.ts decides
 * the records, this only stores them). Never over a database: the home's file
 * must be missing or empty, and a -wal with content is refused too (it holds
 * committed records). The new file is built beside it — schema and every row
 * in one transaction — and renamed into place, so a crash leaves either no
 * database (refused again at the next open) or the whole rebuilt one, never a
 * half-filled one that recovery would trust.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { ErrorCodes, ForkpointError } from '../errors.js';
import type { HomeLayout } from '../layout.js';
import { fsyncFile, fsyncFolder } from '../qcow2/durable.js';
import { openDatabase } from './open.js';
import { addRef } from './sql/addRef.js';
import { insertBase } from './sql/insertBase.js';
import { insertBox } from './sql/insertBox.js';
import type { BaseDiskRecord, BoxRecord } from './types.js';

export interface RebuiltRecords {
  /** Parents before their children (parent_id is a foreign key). */
  bases: readonly BaseDiskRecord[];
  boxes: readonly BoxRecord[];
  refs: readonly { baseId: string; boxId: string; createdAt: number }[];
}

const nonEmpty = (path: string): boolean => existsSync(path) && statSync(path).size > 0;

/** Refuse while the home has a database file with anything in it (or a -wal that does). */
export function refuseExistingDatabase(layout: HomeLayout): void {
  for (const path of [layout.dbPath, `${layout.dbPath}-wal`]) {
    if (!nonEmpty(path)) continue;
    throw new ForkpointError(
      ErrorCodes.ALREADY_EXISTS,
      `${path} exists: a rebuild never writes over a database. If it is damaged, move it aside first ` +
        `(mv ${layout.dbPath} ${layout.dbPath}.damaged, with any -wal and -shm file), then rebuild`,
      { path },
    );
  }
}

/** Write `records` as the home's database (see the file comment); the caller holds the home lock. */
export function writeRebuiltDatabase(layout: HomeLayout, records: RebuiltRecords): void {
  refuseExistingDatabase(layout);
  const staged = `${layout.dbPath}.rebuild`;
  if (!existsSync(layout.dbDir)) mkdirSync(layout.dbDir, { mode: statSync(layout.home).mode & 0o7777 }); // as private as the home
  // Only ever ours: what an interrupted rebuild left.
  for (const leftover of [staged, `${staged}-wal`, `${staged}-journal`, `${staged}-shm`]) rmSync(leftover, { force: true });
  closeSync(openSync(staged, 'wx', 0o600)); // private from the start; SQLite keeps the mode
  const db = openDatabase(staged); // not a home's db path: created and migrated like a new home's
  try {
    db.transaction(() => {
      for (const base of records.bases) insertBase(db, base);
      for (const box of records.boxes) insertBox(db, box);
      for (const ref of records.refs) addRef(db, ref.baseId, ref.boxId, ref.createdAt);
    }).immediate();
    // Everything into the main file (no -wal to carry along); the writer turns WAL on again.
    db.pragma('journal_mode = DELETE');
  } finally {
    db.close();
  }
  fsyncFile(staged);
  refuseExistingDatabase(layout); // nobody else may have made one meanwhile (the home lock says so; check anyway)
  renameSync(staged, layout.dbPath);
  fsyncFolder(layout.dbDir);
}
