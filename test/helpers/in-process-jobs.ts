/**
 * The job handlers (src/workers/jobs/*) run in-process on a temp home: the
 * writer called directly, a read-only reader, the file tasks run inline, no
 * Redis. A test can make one port call fail once (the way a Redis hiccup, a
 * full disk or an I/O error would) and then call the handler again with the
 * same payload, which is what BullMQ does on a retry.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Database } from 'better-sqlite3';
import { openDatabase } from '../../src/db/open.js';
import type { WriterCommand } from '../../src/db/types.js';
import { openWriter, type DbWriter } from '../../src/db/writer.js';
import { ErrorCodes, ForkpointError } from '../../src/errors.js';
import { boxDiskPath, type HomeLayout } from '../../src/layout.js';
import { inlineFileRunner } from '../../src/workers/file-pool.js';
import type { FileTask } from '../../src/workers/file-task-types.js';
import type { JobContext } from '../../src/workers/flows/context.js';
import { KeyedLock } from '../../src/workers/keyed-lock.js';
import { qemuImg } from './qemu.js';
import { useTmpDirs } from './tmp.js';

/**
 * A port call that can be made to fail once, with a retryable error:
 * - `requestGc`: the GC request (a Redis call): E_REDIS_UNAVAILABLE;
 * - `progress:final`: the progress update that reports everything done (a Redis call, a job's last await): E_REDIS_UNAVAILABLE;
 * - `file:<task>`: the next file task of that type, before it runs: E_IO;
 * - `writer:<command>`: the next writer command of that type, before it is applied (a transaction that could not commit): E_IO.
 */
export type FailPoint = 'requestGc' | 'progress:final' | `file:${FileTask['type']}` | `writer:${WriterCommand['type']}`;

export interface InProcessJobsOptions {
  /** Runs before every file task (not one failed by failOnce): may wait (to hold the task in flight), or throw to fail it. */
  beforeFileTask?(task: FileTask): Promise<void> | void;
}

export interface InProcessJobs {
  /** The temp folder; the home is `<dir>/home` (put golden images and other inputs beside it). */
  dir: string;
  layout: HomeLayout;
  /** The writer itself, for set-up outside any job (synchronous). */
  writer: DbWriter;
  /** A read-only connection to the home's database (the same one the handlers get). */
  reader: Database;
  /** What the handlers get. */
  ctx: JobContext;
  /** Make the next call at `point` fail (once). */
  failOnce(point: FailPoint): void;
  /** Every port call the handlers made, in order: `file <task>`, `writer <command>`, `requestGc`, `progress <done>/<total>`. */
  calls: string[];
  /** The base ids handed to requestGc (failed requests excluded). */
  gcRequests: string[];
}

/** Returns a factory for in-process job environments on fresh homes; writers, readers and folders go after each test. */
export function useInProcessJobs(prefix = 'fp-jobs-'): (o?: InProcessJobsOptions) => InProcessJobs {
  const tmp = useTmpDirs(prefix);
  const open: { close(): void }[] = [];
  afterEach(() => {
    for (const x of open.splice(0).reverse()) x.close();
  });
  return (o = {}) => {
    const dir = tmp();
    const writer = openWriter(join(dir, 'home'));
    open.push(writer);
    const reader = openDatabase(writer.layout.dbPath, { readonly: true });
    open.push(reader);
    mkdirSync(writer.layout.basesDir, { recursive: true });

    const armed = new Set<FailPoint>();
    const fire = (point: FailPoint, error: () => ForkpointError): void => {
      if (armed.delete(point)) throw error();
    };
    const redisLost = () => new ForkpointError(ErrorCodes.REDIS_UNAVAILABLE, 'redis: connection lost (injected)');
    const calls: string[] = [];
    const gcRequests: string[] = [];
    const inline = inlineFileRunner();

    const ctx: JobContext = {
      layout: writer.layout,
      writer: {
        apply: async <C extends WriterCommand>(cmd: C) => {
          calls.push(`writer ${cmd.type}`);
          fire(`writer:${cmd.type}`, () => new ForkpointError(ErrorCodes.IO, `writer command ${cmd.type} failed: database or disk is full (injected)`));
          return writer.apply(cmd);
        },
      },
      files: {
        async run<T extends FileTask>(task: T) {
          calls.push(`file ${task.type}`);
          fire(`file:${task.type}`, () => new ForkpointError(ErrorCodes.IO, `${task.type} failed: EIO (injected)`));
          await o.beforeFileTask?.(task);
          return inline.run(task);
        },
        close: async () => undefined,
      },
      reader,
      requestGc: async (ids) => {
        calls.push('requestGc');
        fire('requestGc', redisLost);
        gcRequests.push(...ids);
      },
      progress: ({ done, total }) => {
        calls.push(`progress ${done}/${total}`);
        if (done === total && total > 0) fire('progress:final', redisLost);
      },
      parallelism: 2,
      fsync: false,
      boxLock: new KeyedLock(),
    };
    return { dir, layout: writer.layout, writer, reader, ctx, failOnce: (point) => void armed.add(point), calls, gcRequests };
  };
}

/** Make `id` a ready box with no base whose disk is a copy of `golden` (recorded the way box-create does). */
export function readySourceBox(env: InProcessJobs, id: string, golden: string): string {
  const disk = boxDiskPath(env.layout, id);
  mkdirSync(join(disk, '..'), { recursive: true });
  qemuImg(['convert', '-O', 'qcow2', golden, disk]);
  env.writer.apply({ type: 'createBox', op: `mk-${id}`, boxId: id, baseId: null, adopt: true });
  env.writer.apply({ type: 'commitBox', op: `mk-${id}`, boxId: id });
  return disk;
}
