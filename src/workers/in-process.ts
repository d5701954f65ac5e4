/**
 * The in-process driver: the same flows (src/workers/flows) as the queued
 * pipeline, with the writer called directly, every file task run inline on
 * this thread, and GC requests kept in a local queue that run() drains before
 * it returns (the cascade is still one gc flow per base, as in the queue).
 * No Redis, no threads: for library users, for recovery, for tests.
 *
 * Two hooks see every port call. `beforePortCall` may throw to fail that one
 * call (a Redis hiccup, a full disk: the flow's own failure path then runs).
 * `afterPortCall` sees it once it has completed; throwing there stops the run
 * as a crash would: the driver is abandoned and every later port call fails
 * the same way, so no clean-up path runs either (the crash matrix stops a
 * flow after each of its steps this way).
 */
import type { Database } from 'better-sqlite3';
import type { JobName } from '../contract/jobs.js';
import { openDatabase } from '../db/open.js';
import { InjectedFault } from '../faults.js';
import type { WriterCommand } from '../db/types.js';
import { openWriter, type DbWriter, type WriterOptions } from '../db/writer.js';
import type { HomeLayout } from '../layout.js';
import { canonicalImportDirs } from '../file-steps/import-path.js';
import { inlineFileRunner } from './file-pool.js';
import type { FileTask } from './file-task-types.js';
import type { JobContext, JobProgress } from './flows/context.js';
import { runFlow, type JobResult } from './flows/index.js';
import { compactJob } from './flows/compact.js';
import { gcJob } from './flows/gc.js';
import { KeyedLock } from './keyed-lock.js';
import { homeModes, makeHomeFolder } from '../runtime/home-mode.js';

/** One completed call a flow made through its ports. */
export type PortCall = { port: 'writer'; command: WriterCommand['type'] } | { port: 'files'; task: FileTask['type'] } | { port: 'requestGc'; baseIds: string[] } | { port: 'requestCompact'; baseIds: string[] };

export interface InProcessOptions {
  /** fsync files and folders (default true). */
  fsync?: boolean;
  /** The writer's clock and id minting (tests that need the same ids, hence the same call order, every run). */
  writer?: WriterOptions;
  /** Called before each port call (and awaited); throwing fails that call (see above). */
  beforePortCall?(call: PortCall): void | Promise<void>;
  /** Files that payloads name are read only from these folders (invariant 7); unset: with the caller's own rights. */
  importDirs?: string[];
  /** How many file tasks a flow keeps in flight (default 1: inline tasks run one at a time anyway). */
  parallelism?: number;
  /** Called after each port call with its 1-based index; throwing stops the run (see above). */
  afterPortCall?(call: PortCall, index: number): void;
  progress?(p: JobProgress): void | Promise<void>;
  /**
   * Background compaction of deep chains (flows/compact.ts), drained before run() returns like GC
   * (default true). false: forks only ever meet the depth cap's inline flatten (tests of that fallback).
   */
  compaction?: boolean;
  /** Whether the run was asked to stop (the queued driver reads a Redis key; here the caller decides, e.g. from an AbortSignal). */
  cancelRequested?(): boolean | Promise<boolean>;
}

export interface InProcessRun<N extends JobName> {
  result: JobResult<N>;
  /** Bases the GC requests of this run collected, in order. */
  collected: string[];
}

export interface InProcessDriver {
  layout: HomeLayout;
  writer: DbWriter;
  /** A read-only connection (what the flows look things up in). */
  reader: Database;
  /** The ports the flows get, for a caller that runs flow steps itself (recovery). */
  ctx: JobContext;
  /** Validate the payload (as a queued job is), run the flow, then drain the GC it asked for. */
  run<N extends JobName>(name: N, input: unknown): Promise<InProcessRun<N>>;
  /** Run the gc flow for every base requested so far (and what those ask for in turn). */
  drainGc(): Promise<string[]>;
  close(): void;
}

export function openInProcess(home: string, o: InProcessOptions = {}): InProcessDriver {
  const writer = openWriter(home, o.writer);
  let reader: Database;
  try {
    for (const dir of [writer.layout.basesDir, writer.layout.boxesDir]) makeHomeFolder(dir, homeModes().dir);
    reader = openDatabase(writer.layout.dbPath, { readonly: true });
  } catch (err) {
    writer.close();
    throw err;
  }
  const inline = inlineFileRunner();
  const pendingGc = new Set<string>();
  const pendingCompact = new Set<string>();
  let calls = 0;
  let stopped: unknown = null;

  /** Every port call goes through here: refused once stopped, counted and shown to the hook once done. */
  const port = async <T>(call: () => T | Promise<T>, describe: () => PortCall): Promise<T> => {
    if (stopped !== null) throw stopped;
    await o.beforePortCall?.(describe());
    let value: T;
    try {
      value = await call();
    } catch (err) {
      // A fault point armed inside a file step (between its rename and its child, say) is a crash too.
      if (err instanceof InjectedFault) stopped = err;
      throw err;
    }
    try {
      o.afterPortCall?.(describe(), ++calls);
    } catch (err) {
      stopped = err;
      throw err;
    }
    return value;
  };

  const ctx: JobContext = {
    layout: writer.layout,
    writer: { apply: (cmd) => port(() => writer.apply(cmd), () => ({ port: 'writer', command: cmd.type })) },
    files: {
      run: <T extends FileTask>(task: T) => port(() => inline.run(task), () => ({ port: 'files', task: task.type })),
      close: () => inline.close(),
    },
    reader,
    requestGc: (baseIds) =>
      port(
        () => void baseIds.forEach((id) => pendingGc.add(id)),
        () => ({ port: 'requestGc', baseIds }),
      ),
    ...(o.compaction === false
      ? {}
      : {
          requestCompact: (baseIds: string[]) =>
            port(
              () => void baseIds.forEach((id) => pendingCompact.add(id)),
              () => ({ port: 'requestCompact', baseIds }),
            ),
        }),
    progress: (p) => o.progress?.(p),
    cancelRequested: async () => (await o.cancelRequested?.()) ?? false,
    parallelism: o.parallelism ?? 1,
    fsync: o.fsync ?? true,
    boxLock: new KeyedLock(),
    ...(o.importDirs ? { importDirs: canonicalImportDirs(o.importDirs) } : {}),
  };

  const drainGc = async (): Promise<string[]> => {
    const collected: string[] = [];
    // Compactions first: what they release is collected by the GC below. A compaction that fails
    // (not a crash) does not fail the run that asked for it: its journal stays for the next
    // request or recovery, and the fork's depth cap holds meanwhile.
    for (let next = first(pendingCompact); next !== undefined; next = first(pendingCompact)) {
      pendingCompact.delete(next);
      try {
        await compactJob(ctx, { baseId: next });
      } catch (err) {
        if (stopped !== null || err instanceof InjectedFault) throw err;
      }
    }
    for (let next = first(pendingGc); next !== undefined; next = first(pendingGc)) {
      pendingGc.delete(next);
      if ((await gcJob(ctx, { baseId: next })).collected) collected.push(next);
    }
    return collected;
  };

  return {
    layout: writer.layout,
    writer,
    reader,
    ctx,
    async run(name, input) {
      const result = await runFlow(ctx, name, input);
      return { result, collected: await drainGc() };
    },
    drainGc,
    close() {
      reader.close();
      writer.close();
      void inline.close(); // its flush helpers exit within moments (filesystem-flusher.ts)
    },
  };
}

const first = (s: Set<string>): string | undefined => s.values().next().value;
