/**
 * The qcow2 file work the pipeline hands to Piscina threads: plain data in,
 * plain data out. Errors cross the thread boundary as ForkpointError JSON
 * (structured clone would drop their class and code).
 */
import type { ErrorCode, ErrorDetails } from '../errors.js';
import type { CowChildResult, ForkResult } from '../qcow2/types.js';

export type FileTask =
  /** Move a box's disk into bases/ and leave a COW child in its place. */
  | { type: 'fork'; source: string; dest: string; basesDir: string; fsync: boolean }
  /** COW children of one base, one per target box (folders made as needed). */
  | { type: 'writeChildren'; base: string; children: string[]; fsync: boolean }
  /** A standalone image with all the data of `source`'s chain (also a plain copy of a qcow2 image). */
  | { type: 'flatten'; source: string; dest: string }
  /** A fresh, empty qcow2 image. */
  | { type: 'createImage'; path: string; sizeBytes: number; fsync: boolean }
  /** Copy a raw rootfs image into bases/ read-only. */
  | { type: 'importRaw'; source: string; dest: string; fsync: boolean }
  /** Unlink a base file; refuses anything outside basesDir (DESIGN invariant 5). */
  | { type: 'removeBase'; path: string; basesDir: string }
  /** Remove a box's folder (its container disk and anything else in it). */
  | { type: 'removeBoxDir'; boxDir: string; boxesDir: string };

export interface FileTaskResults {
  fork: ForkResult & { parentPath: string | null };
  writeChildren: CowChildResult[];
  flatten: { path: string; virtualSize: number; sizeBytes: number };
  createImage: { path: string; virtualSize: number };
  importRaw: { path: string; sizeBytes: number; virtualSize: number };
  removeBase: { removed: boolean };
  removeBoxDir: { removed: boolean };
}

export type FileTaskResult<T extends FileTask> = FileTaskResults[T['type']];

export type FileTaskReply =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: ErrorCode; message: string; details: ErrorDetails } };
