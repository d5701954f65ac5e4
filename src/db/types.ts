/**
 * Record shapes and the writer's command vocabulary. Commands are plain,
 * JSON-serialisable data so they can cross a thread port or a queue; every
 * command that changes state carries an operation id (`op`) and re-applying it
 * returns the first result (the writer journals results by op).
 *
 * This file is the contract between the store (src/db), the pipeline
 * (src/workers, src/producers) and the synchronous core: types only, no I/O.
 */
import type { ErrorCode, ErrorDetails } from '../errors.js';

export type BaseKind = 'snapshot' | 'clone_base' | 'rootfs';

/** creating → ready → deleting → (row gone). A creating row may also be aborted (row gone). */
export type BaseState = 'creating' | 'ready' | 'deleting';

export interface BaseDiskRecord {
  id: string;
  sourceBoxId: string;
  name: string | null;
  kind: BaseKind;
  state: BaseState;
  /** Absolute canonical path under `<home>/bases/`. */
  basePath: string;
  /** Guest-visible (virtual) size of the disk, bytes. */
  containerDiskBytes: number;
  /** Bytes the base file occupies on the host (allocated blocks). */
  sizeBytes: number;
  /** The base this one's backing chain reads next (null for a standalone image). */
  parentId: string | null;
  /** The operation that created this record. */
  opId: string;
  /** A removed snapshot that something still reads: hidden from listings, collected with its last reader. */
  tombstoned: boolean;
  createdAt: number;
}

export type BoxState = 'creating' | 'ready' | 'removing';

export interface BoxRecord {
  id: string;
  state: BoxState;
  /** Absolute path of the box's container disk (`<home>/boxes/<id>/disks/container.qcow2`). */
  diskPath: string;
  /** The base the container disk is a COW child of, if any. */
  baseId: string | null;
  opId: string;
  createdAt: number;
}

export interface DiskInfo {
  basePath: string;
  containerDiskBytes: number;
  sizeBytes: number;
}

/** Why a GC claim left a base alone. */
export type GcKeptReason = 'has_refs' | 'has_children' | 'snapshot' | 'rootfs' | 'not_ready' | 'gone';

export type WriterCommand =
  /** Register a box whose container disk is about to be written (state creating). */
  | { type: 'createBox'; op: string; boxId: string; baseId: string | null; adopt?: boolean }
  /** The box's disk is on disk and valid: creating → ready. */
  | { type: 'commitBox'; op: string; boxId: string }
  | { type: 'abortBox'; op: string; boxId: string }
  /** abortBox for many boxes in one transaction (a cancelled clone undoing the targets it did not make): all or none. */
  | { type: 'abortBoxes'; op: string; boxIds: string[] }
  /**
   * Journal a fork before any file moves: mints the id and inserts the base as
   * creating. `targets` are clone boxes that will get COW children of it
   * (their box rows are created here too, state creating).
   */
  | {
      type: 'beginFork';
      op: string;
      sourceBox: string;
      kind: 'snapshot' | 'clone_base';
      name?: string;
      targets?: string[];
      /**
       * How the base file is made (journalled for recovery): 'move' renames the
       * source disk into bases/ (the default); 'flatten' writes a standalone copy
       * there, used when a move would make the chain deeper than MAX_CHAIN_DEPTH.
       */
      mode?: 'move' | 'flatten';
    }
  /** Files moved and the source's child written: base → ready, source box ref added, source box re-pointed. */
  | { type: 'commitFork'; op: string; disk: DiskInfo; parentId: string | null }
  /** The fork failed before or while moving files: remove the creating rows. */
  | { type: 'abortFork'; op: string }
  /** Add refs (clone targets whose children exist now); refused if the base is deleting or missing. */
  | { type: 'addRefs'; op: string; baseId: string; boxIds: string[] }
  /**
   * Drop every ref of a box and mark its row removing (the row keeps the id and
   * the folder reserved until finishRemoveBox); returns the bases that lost a ref.
   */
  | { type: 'removeBox'; op: string; boxId: string }
  /** The removing box's folder is gone: delete its row (a no-op if there is none or it is not removing). */
  | { type: 'finishRemoveBox'; boxId: string }
  /** removeBox for many boxes in one transaction, each refused (and reported) alone: a bulk `box rm`. */
  | { type: 'removeBoxes'; op: string; boxIds: string[] }
  /** finishRemoveBox for many boxes in one transaction. */
  | { type: 'finishRemoveBoxes'; boxIds: string[] }
  /** The GC decision, in one transaction (DESIGN.md invariant 1). */
  | { type: 'claimGc'; baseId: string }
  /** The claimed base's file is gone: delete its row; returns the parent to try next. */
  | { type: 'finishGc'; baseId: string }
  /** Explicit snapshot removal: deleted if nothing reads it, tombstoned otherwise (unless refused). */
  | { type: 'removeSnapshot'; op: string; baseId: string; force: boolean }
  | { type: 'registerRootfs'; op: string; key: string; disk: DiskInfo }
  | { type: 'removeRootfs'; op: string; baseId: string }
  /** Forget settled journal entries last touched before `before` (ms): retries never reach back that far. */
  | { type: 'pruneJournal'; before: number }
  /**
   * Journal a snapshot restore before the box's disk is swapped (stays pending until commit or
   * abort): the box takes a ref on the snapshot now, so it cannot go while its child is written.
   */
  | { type: 'beginRestore'; op: string; boxId: string; baseId: string }
  /** The box's disk is a fresh child of the snapshot: it reads (and refs) only that chain now. */
  | { type: 'commitRestore'; op: string }
  /** The swap did not happen: drop the ref beginRestore added, settle the journal. */
  | { type: 'abortRestore'; op: string }
  /**
   * Journal a background compaction of base `baseId` (a deep chain) before its flattened copy is
   * written: the copy's row is inserted creating, with `baseId` as its parent until the commit, so
   * GC keeps the chain being read. Refused while another compaction of the base is pending.
   */
  | { type: 'beginCompact'; op: string; baseId: string }
  /** The copy is written and `boxIds` now read it: copy ready (no parent), their rows and refs moved to it. */
  | { type: 'commitCompact'; op: string; disk: DiskInfo; boxIds: string[] }
  /** No box was re-pointed: drop the copy's row, settle the journal. */
  | { type: 'abortCompact'; op: string }
  /**
   * Journal an OCI import before a file is copied: `layers` are the bases of the disk, bottom
   * first (digest and format). A base imported earlier with the same digest on the same parent is
   * reused; the others get rows (creating, named by their digest), and the box a row (creating).
   */
  | { type: 'beginImport'; op: string; boxId: string; layers: { digest: string; format: 'qcow2' | 'raw' }[] }
  /** The files are in place: the new bases ready (`disks` in the order of their layers), the box ready and its ref. */
  | { type: 'commitImport'; op: string; disks: DiskInfo[] }
  /** Undo an import that was not committed: its box row and the base rows it made. */
  | { type: 'abortImport'; op: string };

export type WriterCommandType = WriterCommand['type'];

export type ClaimGcResult =
  | { claimed: true; baseId: string; path: string; parentId: string | null; sizeBytes: number }
  | { claimed: false; baseId: string; reason: GcKeptReason };

export interface BeginForkResult {
  baseId: string;
  /** Where the source's disk moves to. */
  basePath: string;
  /** The source box's container disk path (the child goes here). */
  sourceDiskPath: string;
  /** Clone targets registered (state creating) and where each one's child goes. */
  targets: { boxId: string; diskPath: string }[];
  /** As journalled: how the base file is made. */
  mode: 'move' | 'flatten';
  /**
   * The base the source read before this fork. After a flatten its whole old
   * chain is released, and GC starts here (journalled, so a retry or recovery
   * after the commit still knows where).
   */
  previousBaseId?: string | null;
}

/** One box of a removeBoxes command: removed (its row now `removing`) or refused, with the refusal. */
export type BoxRemovalOutcome =
  | ({ ok: true } & RemoveBoxResult)
  | { ok: false; boxId: string; error: { code: ErrorCode; message: string; details: ErrorDetails } };

export interface BeginRestoreResult {
  boxId: string;
  /** The snapshot restored, and its file (what the new child reads). */
  baseId: string;
  basePath: string;
  /** The box's container disk, and where its replacement is written before the atomic swap. */
  diskPath: string;
  staged: string;
  /** The base the box read before (GC starts there once the restore commits). */
  previousBaseId: string | null;
  /** Whether beginRestore added the box's ref on the snapshot (an abort drops only that one). */
  addedRef: boolean;
}

export interface RemoveBoxResult {
  boxId: string;
  diskPath: string;
  /** Bases that lost a ref (try GC on each). */
  touchedBases: string[];
}

/** What each command returns; the writer is typed by this map. */
export interface WriterResults {
  pruneJournal: { deleted: number };
  createBox: BoxRecord;
  commitBox: BoxRecord;
  /** touchedBases: bases the aborted box held a ref to or pointed at (try GC on each). */
  abortBox: { boxId: string; touchedBases: string[] };
  /** touchedBases: every base any of them held a ref to or pointed at, once. */
  abortBoxes: { boxIds: string[]; touchedBases: string[] };
  beginFork: BeginForkResult;
  commitFork: BaseDiskRecord;
  abortFork: { baseId: string | null };
  addRefs: { baseId: string; added: number };
  removeBox: RemoveBoxResult;
  finishRemoveBox: { boxId: string; removed: boolean };
  /** Outcomes in the order given; touchedBases: every base any of them lost a ref to, once. */
  removeBoxes: { outcomes: BoxRemovalOutcome[]; touchedBases: string[] };
  /** The boxes whose rows were deleted (the others were not removing). */
  finishRemoveBoxes: { removed: string[] };
  claimGc: ClaimGcResult;
  finishGc: { baseId: string; parentId: string | null };
  removeSnapshot: { baseId: string; action: 'claimed' | 'tombstoned'; claim?: ClaimGcResult };
  registerRootfs: BaseDiskRecord;
  removeRootfs: ClaimGcResult;
  beginRestore: BeginRestoreResult;
  /** touchedBases: what the box read before and no longer refs (try GC on each). */
  commitRestore: { boxId: string; baseId: string; touchedBases: string[] };
  abortRestore: { boxId: string | null };
  beginCompact: BeginCompactResult;
  /** repointed: boxes now reading the copy; touchedBases: what they no longer ref, and the compacted base (try GC on each). */
  commitCompact: { baseId: string; repointed: string[]; touchedBases: string[] };
  abortCompact: { baseId: string | null };
  beginImport: BeginImportResult;
  commitImport: { boxId: string; baseId: string | null };
  /** touchedBases: the reused bases the box would have read (try GC on each). */
  abortImport: { boxId: string | null; touchedBases: string[] };
}

export interface BeginCompactResult {
  op: string;
  /** The flattened copy: its id and file. */
  baseId: string;
  basePath: string;
  /** The deep base being compacted, and its file (what the copy is flattened from). */
  sourceId: string;
  sourcePath: string;
}

export type ResultOf<C extends WriterCommand> = WriterResults[C['type']];

export interface BeginImportResult {
  boxId: string;
  diskPath: string;
  /** Bottom first: each layer's base, and whether it was there already (reused) or is to be copied in. */
  layers: { digest: string; format: 'qcow2' | 'raw'; baseId: string; basePath: string; reused: boolean }[];
}
