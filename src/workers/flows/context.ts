/**
 * What a job handler works with. Handlers are plain async functions over
 * these ports, so the same code runs inside a BullMQ worker (Piscina pool,
 * writer thread, GC jobs enqueued) and in-process (inline files, direct
 * writer, GC run at once): see src/workers/pipeline.ts and in-process.ts.
 */
import type { Database } from 'better-sqlite3';
import type { HomeLayout } from '../../layout.js';
import type { WriterPort } from '../db-writer-client.js';
import type { FileRunner } from '../file-pool.js';
import type { ImportConfinement } from '../file-task-types.js';
import type { NotedWork } from '../active-work.js';
import type { KeyedLock } from '../keyed-lock.js';

export interface JobProgress {
  done: number;
  total: number;
  /** What the job is doing now ("forking", "writing children"), for people watching; absent from older jobs. */
  phase?: string;
}

export interface JobContext {
  layout: HomeLayout;
  writer: WriterPort;
  files: FileRunner;
  /** A read-only connection for lookups; decisions are always re-made by the writer. */
  reader: Database;
  /** Ask for GC of these bases (a cascade is more jobs, never recursion in one). */
  requestGc(baseIds: string[]): Promise<void>;
  /**
   * Ask for background compaction of these deep bases (flows/compact.ts): a job on the gc queue,
   * or drained by the in-process driver like GC. Absent (recovery's repairs, compaction turned
   * off): no compaction is asked for, and the fork's depth cap still holds on its own.
   */
  requestCompact?(baseIds: string[]): Promise<void>;
  progress(p: JobProgress): Promise<void> | void;
  /** How many file tasks to keep in flight (the pool's thread count). */
  parallelism: number;
  fsync: boolean;
  /**
   * The import folders that files named in payloads must lie in (a service: invariant 7), or
   * undefined when the driver reads with its caller's own rights (the CLI's own pipeline, a library).
   */
  importDirs?: readonly string[];
  /** Serialises forks and removals of one box (see keyed-lock.ts). */
  boxLock: KeyedLock;
  /** Say what this job works on once it knows (a live check then marks it in flight). Optional: in-process runs have no live check. */
  workingOn?(work: NotedWork): void;
  /**
   * Whether someone asked this job to stop (`forkpoint jobs cancel`). Flows ask between steps
   * that leave a consistent home (flows/cancel.ts), never in the middle of one. Both drivers
   * provide it; recovery's context has none (its repairs always run to the end).
   */
  cancelRequested?(): Promise<boolean> | boolean;
  /**
   * Whether the driver is closing (a Ctrl-C'd command's own pipeline, serve past its grace): the job
   * stops at the same safe points as for a cancel, but undoes nothing, and is handed back whole for
   * the home's next owner to resume. Absent: the driver never stops a job part-way.
   */
  closing?(): boolean;
}

/**
 * A payload's file, checked against the import folders before the flow records anything (so a
 * refusal changes no record), and checked again by the file task that reads it.
 */
export async function checkImport(ctx: JobContext, path: string, field: string): Promise<void> {
  const { confine } = confinement(ctx, field);
  if (confine) await ctx.files.run({ type: 'checkImport', path, confine });
}

/** What a file task that reads a payload's `field` carries when the driver confines imports. */
export function confinement(ctx: JobContext, field: string): { confine?: ImportConfinement } {
  return ctx.importDirs ? { confine: { home: ctx.layout.home, importDirs: [...ctx.importDirs], field } } : {};
}
