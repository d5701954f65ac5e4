/**
 * Read-only access for the CLI and API: a separate connection that never
 * writes (WAL lets it read while the writer commits).
 */
import type { Database } from 'better-sqlite3';
import { homeLayout, type HomeLayout } from '../layout.js';
import { openDatabase } from './open.js';
import { childBases } from './sql/childBases.js';
import { countReaders, type ReaderCounts } from './sql/countReaders.js';
import { dependentBoxes } from './sql/dependentBoxes.js';
import { findBaseById } from './sql/findBaseById.js';
import { findBaseByPath } from './sql/findBaseByPath.js';
import { findBox } from './sql/findBox.js';
import { findRootfs } from './sql/findRootfs.js';
import { findSnapshot } from './sql/findSnapshot.js';
import { findSnapshotsByName } from './sql/findSnapshotsByName.js';
import { hasDependents } from './sql/hasDependents.js';
import { listBases, type ListBasesFilter } from './sql/listBases.js';
import { listBoxes, type ListBoxesFilter } from './sql/listBoxes.js';
import { listPendingOps } from './sql/listPendingOps.js';
import { refCountsByBase } from './sql/refCountsByBase.js';
import { refsOfBox } from './sql/refsOfBox.js';
import { countBoxesByState } from './sql/countBoxesByState.js';
import type { OpEntry } from './sql/findOp.js';
import type { BaseDiskRecord, BoxRecord, BoxState } from './types.js';
import { canonicalHome } from './writer.js';

export class DbReader {
  constructor(
    readonly layout: HomeLayout,
    readonly connection: Database,
  ) {}

  findBase(id: string): BaseDiskRecord | null {
    return findBaseById(this.connection, id);
  }
  findBaseByPath(path: string): BaseDiskRecord | null {
    return findBaseByPath(this.connection, path);
  }
  listBases(filter: ListBasesFilter = {}): BaseDiskRecord[] {
    return listBases(this.connection, filter);
  }
  childBases(id: string): BaseDiskRecord[] {
    return childBases(this.connection, id);
  }
  findSnapshot(boxId: string, name: string): BaseDiskRecord | null {
    return findSnapshot(this.connection, boxId, name);
  }
  findSnapshotsByName(name: string): BaseDiskRecord[] {
    return findSnapshotsByName(this.connection, name);
  }
  findRootfs(key: string): BaseDiskRecord | null {
    return findRootfs(this.connection, key);
  }
  findBox(id: string): BoxRecord | null {
    return findBox(this.connection, id);
  }
  listBoxes(filter: ListBoxesFilter = {}): BoxRecord[] {
    return listBoxes(this.connection, filter);
  }
  dependentBoxes(baseId: string): string[] {
    return dependentBoxes(this.connection, baseId);
  }
  hasDependents(baseId: string): boolean {
    return hasDependents(this.connection, baseId);
  }
  readers(baseId: string): ReaderCounts {
    return countReaders(this.connection, baseId);
  }
  /** Refs per base, for every base at once (the forest, metrics). */
  refCounts(): Map<string, number> {
    return refCountsByBase(this.connection);
  }
  boxCountsByState(): Map<BoxState, number> {
    return countBoxesByState(this.connection);
  }
  refsOfBox(boxId: string): string[] {
    return refsOfBox(this.connection, boxId);
  }
  pendingOps(): OpEntry[] {
    return listPendingOps(this.connection);
  }
  close(): void {
    this.connection.close();
  }
}

/** A reader for `home`; its database must exist (a writer creates it). */
export function openReader(home: string): DbReader {
  const layout = homeLayout(canonicalHome(home));
  return new DbReader(layout, openDatabase(layout.dbPath, { readonly: true }));
}
