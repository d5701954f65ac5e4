/** Lookups that either return a usable record or throw the error a caller can act on. */
import type { Database } from 'better-sqlite3';
import { lstatSync, readdirSync } from 'node:fs';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { parseBaseId } from '../../ids.js';
import { boxDir, type HomeLayout } from '../../layout.js';
import { findBaseById } from '../sql/findBaseById.js';
import { findOp, type OpEntry } from '../sql/findOp.js';
import { listPendingOps } from '../sql/listPendingOps.js';
import { listUnsettledBases } from '../sql/listUnsettledBases.js';
import type { BaseDiskRecord } from '../types.js';

/** A base that may gain a reader now: it exists and is ready (E_UNKNOWN_BASE / E_BASE_DELETING / E_CONFLICT). */
export function requireReadableBase(db: Database, rawId: string): BaseDiskRecord {
  const id = parseBaseId(rawId);
  const base = findBaseById(db, id);
  if (!base) throw new ForkpointError(ErrorCodes.UNKNOWN_BASE, `unknown base ${id}`, { id });
  if (base.state === 'deleting') {
    throw new ForkpointError(ErrorCodes.BASE_DELETING, `base ${id} is being deleted; no new reader may use it`, { id });
  }
  if (base.state === 'creating') {
    throw new ForkpointError(ErrorCodes.CONFLICT, `base ${id} is still being created (op ${base.opId})`, { id });
  }
  return base;
}

/**
 * The work in flight that holds boxes' disks: a fork moving one (a compaction's copy carries its
 * box's id too, but moves no disk of the box), a restore replacing one. One operation in flight
 * each, so few at any time: read whole, once for a batch of boxes.
 */
export interface DiskWork {
  /** The oldest fork in progress of each box, by box id. */
  forks: Map<string, BaseDiskRecord>;
  /** The restore in progress of each box, by box id. */
  restores: Map<string, OpEntry>;
}

export function diskWorkInFlight(db: Database): DiskWork {
  const forks = new Map<string, BaseDiskRecord>();
  for (const b of listUnsettledBases(db)) {
    if (b.state === 'creating' && !forks.has(b.sourceBoxId) && !findOp(db, b.opId, 'beginCompact')) forks.set(b.sourceBoxId, b);
  }
  const restores = new Map<string, OpEntry>();
  for (const op of listPendingOps(db, 'beginRestore')) restores.set((op.payload as { boxId: string }).boxId, op);
  return { forks, restores };
}

/** Why `boxId` may not be touched now (`doing` names the caller's action), or null. */
export function diskBusyError(work: DiskWork, boxId: string, doing: string): ForkpointError | null {
  const fork = work.forks.get(boxId);
  if (fork) {
    return new ForkpointError(ErrorCodes.CONFLICT, `cannot ${doing} box ${boxId}: a fork of it is in progress (op ${fork.opId}, base ${fork.id})`, { id: boxId });
  }
  // A restore is swapping the box's disk: a fork would move the disk being replaced, a removal delete it.
  const restore = work.restores.get(boxId);
  if (restore) {
    return new ForkpointError(ErrorCodes.CONFLICT, `cannot ${doing} box ${boxId}: a snapshot restore of it is in progress (op ${restore.opId})`, { id: boxId });
  }
  return null;
}

/** Refuse to touch a box whose disk a fork is moving, or a restore replacing, right now. */
export function refuseForkInProgress(db: Database, boxId: string, doing: string): void {
  const busy = diskBusyError(diskWorkInFlight(db), boxId, doing);
  if (busy) throw busy;
}

/**
 * A box about to get its first row must not have a folder yet. A folder no row
 * owns is someone else's: writing a disk into it would let a later removal, or
 * recovery undoing a half-made box, delete their files. Checked in the same
 * transaction that makes the row, so while the row exists its folder is ours
 * (except for `adopt`, which registers a disk already there).
 */
export function refuseUnownedFolder(layout: HomeLayout, boxId: string): void {
  const folder = boxDir(layout, boxId);
  if (pathTaken(folder)) {
    throw new ForkpointError(ErrorCodes.ALREADY_EXISTS, `box folder ${folder} exists but no box record owns it; not writing into it`, {
      id: boxId,
      path: folder,
    });
  }
}

/** Batches from this size list boxes/ once instead of looking each folder up (2,000 look-ups took 14 ms). */
const LIST_FROM = 64;

/** refuseUnownedFolder for every box of a batch. */
export function refuseUnownedFolders(layout: HomeLayout, boxIds: readonly string[]): void {
  let present: Set<string> | null = null;
  if (boxIds.length >= LIST_FROM) {
    try {
      present = new Set(readdirSync(layout.boxesDir));
    } catch {
      present = null; // cannot list it: each look-up decides (and names what it found)
    }
  }
  // A listed name is looked up too, for its error; a box id is one path segment (contract/fields.ts), so a name not listed is free.
  for (const id of boxIds) if (!present || present.has(id)) refuseUnownedFolder(layout, id);
}

/** Anything at `path`, a dangling symlink included (existsSync follows links and says no). */
function pathTaken(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) !== undefined; // no exception built for the usual answer
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' && code !== 'ENOTDIR'; // cannot tell (e.g. EACCES): not free to write into
  }
}

export function uniqueSorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}
