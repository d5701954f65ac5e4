/** "Does it exist?" checks routes make before queueing, so an unknown id is a 404 and nothing is queued. */
import type { DbReader } from '../../db/reader.js';
import type { BaseDiskRecord, BoxRecord } from '../../db/types.js';
import { ErrorCodes, ForkpointError } from '../../errors.js';

export function requireBox(reader: DbReader, id: string, field = 'id'): BoxRecord {
  const box = reader.findBox(id);
  if (!box) throw new ForkpointError(ErrorCodes.UNKNOWN_BOX, `no box "${id}"`, { field, id });
  return box;
}

/** A box that would be created must not exist yet (the job would refuse it too, after queueing). */
export function refuseExistingBox(reader: DbReader, id: string, field: string): void {
  if (reader.findBox(id)) throw new ForkpointError(ErrorCodes.ALREADY_EXISTS, `box "${id}" already exists`, { field, id });
}

export function requireBase(reader: DbReader, id: string, field = 'id'): BaseDiskRecord {
  const base = reader.findBase(id);
  if (!base) throw new ForkpointError(ErrorCodes.UNKNOWN_BASE, `no base "${id}"`, { field, id });
  return base;
}

export function requireRootfs(reader: DbReader, key: string, field = 'rootfs'): BaseDiskRecord {
  const found = reader.findRootfs(key);
  if (!found) throw new ForkpointError(ErrorCodes.UNKNOWN_BASE, `no rootfs "${key}"`, { field, id: key });
  return found;
}

/** The snapshots called `name` (of one box, if given); 404 when there are none. */
export function requireSnapshot(reader: DbReader, name: string, boxId?: string): BaseDiskRecord[] {
  const found = reader.findSnapshotsByName(name).filter((s) => boxId === undefined || s.sourceBoxId === boxId);
  if (found.length === 0) {
    const of = boxId === undefined ? '' : ` of box "${boxId}"`;
    throw new ForkpointError(ErrorCodes.UNKNOWN_SNAPSHOT, `no snapshot "${name}"${of}`, { field: 'name', id: name });
  }
  return found;
}
