/**
 * The synchronous core (the seed's BaseDiskManager), usable in-process with no
 * queue: each operation is writer commands around file steps, in the order
 * that keeps invariants 1 and 2 at every instruction. The pipeline drives the
 * same commands and steps from its queues.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { faultPoint, InjectedFault } from '../faults.js';
import { mintBaseId, parseBaseId } from '../ids.js';
import { basePath as basePathOf, boxDir, boxDiskPath, type HomeLayout } from '../layout.js';
import { parseBoxId, parseSnapshotName } from '../names.js';
import { readHeader } from '../qcow2/read-header.js';
import { writeCowChild } from '../qcow2/write-cow-child.js';
import { collectAll, collectGarbage, finishClaim } from './core/gc.js';
import { findParentBase, identifyLayer } from './core/paths.js';
import { previousBaseOf, resumeForkStep, undoIfNothingMoved } from './core/fork-progress.js';
import { cloneChildrenStep, forkModeFor, importRawStep, type StepOptions } from './core/steps.js';
import { findBaseById } from './sql/findBaseById.js';
import { findBaseByPath } from './sql/findBaseByPath.js';
import { findBox } from './sql/findBox.js';
import { findRootfs } from './sql/findRootfs.js';
import { findSnapshot } from './sql/findSnapshot.js';
import { listBases } from './sql/listBases.js';
import type { BaseDiskRecord, BoxRecord } from './types.js';
import { openWriter, type DbWriter, type WriterOptions } from './writer.js';

let opSeq = 0;
/** Operation ids for in-process calls: unique per process run, readable in the journal. */
const newOp = (what: string): string => `${what}:${process.pid}:${Date.now().toString(36)}:${++opSeq}`;

/** An injected fault stands for a crash: nothing after it runs, cleanup included. */
const isCrash = (err: unknown): boolean => err instanceof InjectedFault;

export interface ManagerOptions extends WriterOptions, StepOptions {}

export class BaseDiskManager {
  readonly layout: HomeLayout;
  private readonly steps: StepOptions;

  constructor(
    readonly writer: DbWriter,
    options: StepOptions = {},
  ) {
    this.layout = writer.layout;
    this.steps = { fsync: options.fsync ?? true };
    mkdirSync(this.layout.basesDir, { recursive: true });
    mkdirSync(this.layout.boxesDir, { recursive: true });
  }

  static open(home: string, options: ManagerOptions = {}): BaseDiskManager {
    return new BaseDiskManager(openWriter(home, options), options);
  }

  close(): void {
    this.writer.close();
  }

  private get db() {
    return this.writer.connection;
  }

  // ---- boxes -------------------------------------------------------------

  /** Register the image already at `<home>/boxes/<id>/disks/container.qcow2` as a ready box. */
  adoptBox(boxId: string): BoxRecord {
    const id = parseBoxId(boxId);
    readHeader(boxDiskPath(this.layout, id)); // a disk that is not qcow2 fails here, before any record
    const op = newOp('adopt');
    this.writer.apply({ type: 'createBox', op, boxId: id, baseId: null, adopt: true });
    return this.writer.apply({ type: 'commitBox', op, boxId: id });
  }

  /** A new box whose disk is a COW child of a base (a rootfs, or a snapshot to start from). */
  createBoxFromBase(boxId: string, baseId: string): BoxRecord {
    const op = newOp('box');
    const box = this.writer.apply({ type: 'createBox', op, boxId, baseId }); // takes the ref first
    const base = findBaseById(this.db, box.baseId!)!;
    try {
      mkdirSync(dirname(box.diskPath), { recursive: true });
      writeCowChild(base.basePath, box.diskPath, { fsync: this.steps.fsync });
      faultPoint('box:after-child');
    } catch (err) {
      if (isCrash(err)) throw err;
      // createBox refused an existing folder, so this one is ours: undo it with the row.
      rmSync(boxDir(this.layout, box.id), { recursive: true, force: true });
      this.writer.apply({ type: 'abortBox', op, boxId: box.id });
      throw err;
    }
    return this.writer.apply({ type: 'commitBox', op, boxId: box.id });
  }

  /** Remove a box: its records (refs), its folder, then GC of every base it read. Returns the bases collected. */
  removeBox(boxId: string): string[] {
    const removed = this.writer.apply({ type: 'removeBox', op: newOp('remove'), boxId });
    faultPoint('remove:after-record');
    // Only a box with a row (now removing) has a folder that is ours; refs alone name boxes we do not manage.
    if (findBox(this.db, removed.boxId)?.state === 'removing') {
      rmSync(boxDir(this.layout, removed.boxId), { recursive: true, force: true });
      this.writer.apply({ type: 'finishRemoveBox', boxId: removed.boxId });
    }
    return collectAll(this.writer, removed.touchedBases, this.steps);
  }

  // ---- forks ---------------------------------------------------------------

  /** Fork a box's disk into a new base (the seed's create_base_disk): beginFork → file step → commitFork. */
  createBaseDisk(sourceBox: string, kind: 'snapshot' | 'clone_base', name?: string, targets: string[] = []): BaseDiskRecord {
    const source = findBox(this.db, parseBoxId(sourceBox));
    const mode = source ? forkModeFor(source.diskPath) : 'move';
    const op = newOp(kind === 'snapshot' ? 'snapshot' : 'fork');
    const begun = this.writer.apply({
      type: 'beginFork',
      op,
      sourceBox,
      kind,
      mode,
      ...(name !== undefined ? { name } : {}),
      ...(targets.length ? { targets } : {}),
    });
    faultPoint('fork:after-begin');
    let forked;
    try {
      forked = resumeForkStep(this.layout, begun, this.steps);
    } catch (err) {
      if (isCrash(err)) throw err;
      // Only a fork that moved nothing may be dropped; otherwise the base holds the box's bytes and
      // recovery (or a retry) must finish it.
      if (undoIfNothingMoved(begun)) this.writer.apply({ type: 'abortFork', op });
      throw err;
    }
    const { parentPath, ...disk } = forked;
    const parentId = parentPath ? (findBaseByPath(this.db, parentPath)?.id ?? null) : null;
    const base = this.writer.apply({ type: 'commitFork', op, disk, parentId });
    faultPoint('fork:after-commit');
    if (mode === 'flatten') {
      // The source now reads only the flattened base: its old chain is garbage unless something else reads it.
      // commitFork dropped the source's refs to its old chain; GC from its previous base cascades down it.
      const previous = previousBaseOf(begun, source?.baseId);
      collectAll(this.writer, previous ? [previous] : [], this.steps);
    }
    return base;
  }

  /** Clone a box: fork once, write a COW child per target, then take all their refs in one command. */
  clone(sourceBox: string, targets: string[]): { base: BaseDiskRecord; boxes: BoxRecord[] } {
    if (targets.length === 0) {
      throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `clone of ${sourceBox} needs at least one target box`, { field: 'targets' });
    }
    const base = this.createBaseDisk(sourceBox, 'clone_base', undefined, targets);
    const disks = targets.map((t) => boxDiskPath(this.layout, parseBoxId(t)));
    try {
      cloneChildrenStep(base.basePath, disks, this.steps);
      faultPoint('clone:after-children');
    } catch (err) {
      if (isCrash(err)) throw err;
      // beginFork refused existing target folders, so these are ours: undo them with their rows.
      for (const t of targets) {
        rmSync(boxDir(this.layout, parseBoxId(t)), { recursive: true, force: true });
        this.writer.apply({ type: 'abortBox', op: newOp('clone-abort'), boxId: t });
      }
      throw err;
    }
    this.writer.apply({ type: 'addRefs', op: newOp('clone-refs'), baseId: base.id, boxIds: targets });
    return { base, boxes: targets.map((t) => findBox(this.db, t)!) };
  }

  // ---- GC ----------------------------------------------------------------------

  /** The seed's try_gc_base: collect `baseId` if nothing reads it, then its parents. Returns the ids collected. */
  tryGcBase(baseId: string): string[] {
    return collectGarbage(this.writer, parseBaseId(baseId), this.steps);
  }

  findParentBase(imagePath: string): string | null {
    return findParentBase(this.layout, imagePath);
  }

  identifyLayer(boxDisksDir: string): string | null {
    return identifyLayer(this.layout, boxDisksDir);
  }

  // ---- snapshots -------------------------------------------------------------

  createSnapshot(boxId: string, name: string): BaseDiskRecord {
    return this.createBaseDisk(boxId, 'snapshot', parseSnapshotName(name));
  }

  listSnapshots(boxId?: string): BaseDiskRecord[] {
    return listBases(this.db, { kind: 'snapshot', ...(boxId !== undefined ? { sourceBoxId: parseBoxId(boxId) } : {}) });
  }

  findSnapshot(boxId: string, name: string): BaseDiskRecord | null {
    return findSnapshot(this.db, parseBoxId(boxId), parseSnapshotName(name));
  }

  /** Remove a snapshot by (box, name): deleted now if nothing reads it, else hidden until its last reader goes. */
  removeSnapshot(boxId: string, name: string, options: { force?: boolean } = {}): { action: 'claimed' | 'tombstoned'; collected: string[] } {
    const snap = this.findSnapshot(boxId, name);
    if (!snap) {
      throw new ForkpointError(ErrorCodes.UNKNOWN_SNAPSHOT, `box ${boxId} has no snapshot named ${JSON.stringify(name)}`, { id: boxId });
    }
    const out = this.writer.apply({ type: 'removeSnapshot', op: newOp('unsnap'), baseId: snap.id, force: options.force ?? false });
    if (out.action === 'tombstoned' || !out.claim?.claimed) return { action: out.action, collected: [] };
    const parent = finishClaim(this.writer, out.claim, this.steps);
    return { action: 'claimed', collected: [snap.id, ...(parent ? collectGarbage(this.writer, parent, this.steps) : [])] };
  }

  // ---- rootfs cache -----------------------------------------------------------

  /** Copy a raw ext4 image into bases/ (read-only) and record it under `key`. */
  registerRootfs(key: string, rawImage: string): BaseDiskRecord {
    const dest = basePathOf(this.layout, mintBaseId(), 'ext4');
    const disk = importRawStep(rawImage, dest, this.steps);
    try {
      return this.writer.apply({ type: 'registerRootfs', op: newOp('rootfs'), key, disk });
    } catch (err) {
      if (!isCrash(err)) rmSync(dest, { force: true });
      throw err;
    }
  }

  findRootfs(key: string): BaseDiskRecord | null {
    return findRootfs(this.db, key);
  }

  removeRootfs(key: string): string[] {
    const rootfs = findRootfs(this.db, key);
    if (!rootfs) throw new ForkpointError(ErrorCodes.UNKNOWN_BASE, `no rootfs registered as ${JSON.stringify(key)}`, { field: 'key' });
    const claim = this.writer.apply({ type: 'removeRootfs', op: newOp('unrootfs'), baseId: rootfs.id });
    if (!claim.claimed) return [];
    finishClaim(this.writer, claim, this.steps);
    return [rootfs.id];
  }
}
