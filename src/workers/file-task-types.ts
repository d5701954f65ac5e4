/**
 * The qcow2 file work the pipeline hands to Piscina threads: plain data in,
 * plain data out. Each task is one of the file steps (src/file-steps/), run
 * by either driver: in a pool thread (queued) or inline (in-process). Errors cross the thread
 * boundary as ForkpointError JSON (structured clone would drop their class and code).
 */
import type { LayoutImage } from '../oci/read-layout.js';
import type { BeginCompactResult, BeginImportResult, BeginForkResult, BeginRestoreResult, DiskInfo } from '../db/types.js';
import type { ErrorCode, ErrorDetails } from '../errors.js';

export type FileTask =
  /** Nothing: answering proves the thread has loaded this module (see file-pool.ts). */
  | { type: 'ping' }
  /** 'move' or 'flatten': how a fork of this disk must be made (the depth cap); refuses a disk no fork may take (file-steps/box-disk-guard.ts). */
  | { type: 'forkMode'; home: string; diskPath: string }
  /** The fork's file half, as journalled by beginFork, from wherever it stopped (file-steps/fork-progress.ts). */
  | { type: 'fork'; home: string; begun: BeginForkResult; fsync: boolean }
  /** After a failed fork step: undo it if nothing moved (true), else leave it for a retry or recovery (false). */
  | { type: 'undoFork'; begun: BeginForkResult }
  /** COW children of one base, one per target box (folders made as needed; all or nothing). */
  | { type: 'writeChildren'; base: string; children: string[]; fsync: boolean }
  /** How a batch's children are made durable: one syncfs per group, or an fsync each (file-steps/steps.ts). */
  | { type: 'childrenFlushMode' }
  /** Children written with fsync false made durable by one flush of their filesystem. */
  | { type: 'flushChildren'; children: string[] }
  /**
   * A new box's disk: a standalone copy of `source`'s chain (flatten) or a fresh
   * empty image. The box folder must not exist yet: a folder left without a
   * record is someone's data, never written into or cleaned up by us.
   */
  | { type: 'flatten'; source: string; dest: string; boxDir: string; fsync: boolean; confine?: ImportConfinement }
  | { type: 'createImage'; path: string; boxDir: string; sizeBytes: number; fsync: boolean }
  /** Refuse a payload's file outside the import folders (file-steps/import-path.ts), before the flow records anything. */
  | { type: 'checkImport'; path: string; confine: ImportConfinement }
  /** Whether the request's file `path` holds the same bytes as our file `as` (a rootfs imported again under its key). */
  | { type: 'sameBytes'; path: string; as: string; confine?: ImportConfinement }
  /** Copy a raw rootfs image into bases/ read-only. */
  | { type: 'importRaw'; source: string; dest: string; fsync: boolean; confine?: ImportConfinement }
  /** Unlink a base file; refuses anything that is not a base file of the home (DESIGN invariant 5). */
  | { type: 'removeBase'; home: string; path: string; fsync: boolean }
  | { type: 'homeBackings'; home: string }
  /** A background compaction's copy of a deep base, written unless a disk reads it already (file-steps/compact.ts). */
  | { type: 'compactWrite'; home: string; begun: BeginCompactResult; disks: string[]; fsync: boolean }
  /** Re-point these box disks from the compacted base to its copy; returns the disks that read the copy. */
  | { type: 'compactRepoint'; home: string; begun: BeginCompactResult; disks: string[]; fsync: boolean }
  /** If none of these disks reads the copy yet, remove the copy (true: roll back); else false (roll forward). */
  | { type: 'compactUndo'; begun: BeginCompactResult; disks: string[] }
  /** Read and check an OCI image layout (src/oci/read-layout.ts): the image's layers, verified JSON. */
  | { type: 'ociRead'; dir: string; tag: string | null; confine?: ImportConfinement }
  /** Copy an import's missing layers into bases/ and write the box's disk (file-steps/oci-import.ts). */
  | { type: 'ociInstall'; home: string; image: LayoutImage; begun: BeginImportResult; fsync: boolean }
  /** Remove what an import being undone copied in. */
  | { type: 'ociUndo'; home: string; begun: BeginImportResult }
  /** Remove a box's folder (its container disk and anything else in it). */
  | { type: 'removeBoxDir'; home: string; boxId: string }
  /** Swap a box's disk for a fresh child of the snapshot, as journalled by beginRestore (file-steps/restore.ts). */
  | { type: 'restoreDisk'; home: string; begun: BeginRestoreResult; fsync: boolean }
  /** The opt-in in-use check (qcow2/in-use.ts): E_IMAGE_IN_USE while a QEMU process holds the image's write lock. */
  | { type: 'checkNotInUse'; path: string }
  /** Remove several boxes' folders, then flush boxes/ once for all of them (a bulk removal's share for one thread). */
  | { type: 'removeBoxDirs'; home: string; boxIds: string[] };

/** A request's file may only be read from these import folders (file-steps/import-path.ts); checked in the task, before the read. */
export interface ImportConfinement {
  home: string;
  importDirs: string[];
  /** The payload field that named the file. */
  field: string;
}

export interface FileTaskResults {
  ping: null;
  forkMode: 'move' | 'flatten';
  fork: DiskInfo & { parentPath: string | null };
  undoFork: boolean;
  writeChildren: null;
  childrenFlushMode: 'syncfs' | 'fsync';
  flushChildren: null;
  flatten: { path: string; virtualSize: number };
  createImage: { path: string; virtualSize: number };
  checkImport: null;
  sameBytes: boolean;
  importRaw: DiskInfo;
  removeBase: null;
  /** Every image of the home that names a backing file, with that file. */
  homeBackings: [image: string, backing: string][];
  removeBoxDir: null;
  /** null: no disk could be re-pointed at a copy (nothing was written). */
  compactWrite: DiskInfo | null;
  compactRepoint: string[];
  compactUndo: boolean;
  ociRead: LayoutImage;
  ociInstall: DiskInfo[];
  ociUndo: null;
  restoreDisk: null;
  checkNotInUse: null;
  /** The folders that could not be removed, each with why (the others are gone, durably). */
  removeBoxDirs: { failed: { boxId: string; error: { code: ErrorCode; message: string; details: ErrorDetails } }[] };
}

export type FileTaskResult<T extends FileTask> = FileTaskResults[T['type']];

export type FileTaskReply =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: ErrorCode; message: string; details: ErrorDetails } };
