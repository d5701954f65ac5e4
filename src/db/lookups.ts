/**
 * The lookups a request is checked with, once for both sides: the HTTP
 * pre-checks (before anything is queued) and the flows (when the job runs)
 * refuse the same request with the same code, message and details, so a
 * request the API accepts is one the job accepts. `field` names the payload
 * field the id came from.
 */
import type { Database } from 'better-sqlite3';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { findBaseById } from './sql/findBaseById.js';
import { findBox } from './sql/findBox.js';
import { findRootfs } from './sql/findRootfs.js';
import { findSnapshot } from './sql/findSnapshot.js';
import { findSnapshotsByName } from './sql/findSnapshotsByName.js';
import type { BaseDiskRecord, BoxRecord } from './types.js';

export function requireBox(db: Database, id: string, field = 'boxId'): BoxRecord {
  const box = findBox(db, id);
  if (!box) throw new ForkpointError(ErrorCodes.UNKNOWN_BOX, `no box "${id}"`, { field, id });
  return box;
}

/** A box that would be created must not exist yet. */
export function refuseExistingBox(db: Database, id: string, field: string): void {
  if (findBox(db, id)) throw new ForkpointError(ErrorCodes.ALREADY_EXISTS, `box "${id}" already exists`, { field, id });
}

export function requireBase(db: Database, id: string, field = 'baseId'): BaseDiskRecord {
  const base = findBaseById(db, id);
  if (!base) throw new ForkpointError(ErrorCodes.UNKNOWN_BASE, `no base "${id}"`, { field, id });
  return base;
}

export function requireRootfs(db: Database, key: string, field = 'rootfs'): BaseDiskRecord {
  const found = findRootfs(db, key);
  if (!found) throw new ForkpointError(ErrorCodes.UNKNOWN_BASE, `no rootfs registered as "${key}"`, { field, id: key });
  return found;
}

/** A snapshot by name, in one box or (when the name is unambiguous) in any box. */
export function resolveSnapshot(db: Database, name: string, boxId?: string): BaseDiskRecord {
  if (boxId !== undefined) {
    const found = findSnapshot(db, boxId, name);
    if (found) return found;
    throw new ForkpointError(ErrorCodes.UNKNOWN_SNAPSHOT, `no snapshot "${name}" of box "${boxId}"`, { field: 'name', id: name });
  }
  const found = findSnapshotsByName(db, name);
  if (found.length === 1) return found[0]!;
  if (found.length === 0) throw new ForkpointError(ErrorCodes.UNKNOWN_SNAPSHOT, `no snapshot named "${name}"`, { field: 'name', id: name });
  throw new ForkpointError(ErrorCodes.CONFLICT, `snapshot name "${name}" exists in several boxes (${found.map((s) => s.sourceBoxId).join(', ')}); say which box`, {
    field: 'boxId',
    id: name,
  });
}
