/**
 * The qcow2 file work the pipeline hands to Piscina threads: plain data in,
 * plain data out. Each task is one of the file steps (src/file-steps/), run
 * by either driver: in a pool thread (queued) or inline (in-process). Errors cross the thread
 * boundary as ForkpointError JSON (structured clone would drop their class and code).
 */
import type { BeginForkResult, DiskInfo } from '../db/types.js';
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
  /** Remove a box's folder (its container disk and anything else in it). */
  | { type: 'removeBoxDir'; home: string; boxId: string };

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
  flatten: { path: string; virtualSize: number };
  createImage: { path: string; virtualSize: number };
  checkImport: null;
  sameBytes: boolean;
  importRaw: DiskInfo;
  removeBase: null;
  removeBoxDir: null;
}

export type FileTaskResult<T extends FileTask> = FileTaskResults[T['type']];

export type FileTaskReply =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: ErrorCode; message: string; details: ErrorDetails } };
