/**
 * The flows on a temp home through the in-process driver (the writer called
 * directly, file tasks inline, no Redis), for tests that call one handler
 * with the driver's ports. A test can make one port call fail once (the way a
 * Redis hiccup, a full disk or an I/O error would) and then call the handler
 * again with the same payload, which is what BullMQ does on a retry.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Database } from 'better-sqlite3';
import type { WriterCommand } from '../../src/db/types.js';
import type { DbWriter } from '../../src/db/writer.js';
import { ErrorCodes, ForkpointError } from '../../src/errors.js';
import { boxDiskPath, type HomeLayout } from '../../src/layout.js';
import type { FileTask } from '../../src/workers/file-task-types.js';
import type { JobContext } from '../../src/workers/flows/context.js';
import { openInProcess, type InProcessDriver, type PortCall } from '../../src/workers/in-process.js';
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
  beforeFileTask?(task: FileTask['type']): Promise<void> | void;
}

export interface InProcessJobs {
  /** The temp folder; the home is `<dir>/home` (put golden images and other inputs beside it). */
  dir: string;
  layout: HomeLayout;
  /** The writer itself, for set-up outside any job (synchronous). */
  writer: DbWriter;
  /** A read-only connection to the home's database (the same one the handlers get). */
  reader: Database;
  /** What the handlers get: the driver's ports. */
  ctx: JobContext;
  driver: InProcessDriver;
  /** Make the next call at `point` fail (once). */
  failOnce(point: FailPoint): void;
  /** Every port call the handlers made, in order: `file <task>`, `writer <command>`, `requestGc`, `progress <done>/<total>`. */
  calls: string[];
  /** The base ids handed to requestGc (failed requests excluded). */
  gcRequests: string[];
}

const pointOf = (c: PortCall): FailPoint => (c.port === 'writer' ? `writer:${c.command}` : c.port === 'files' ? `file:${c.task}` : 'requestGc');
const callOf = (c: PortCall): string => (c.port === 'writer' ? `writer ${c.command}` : c.port === 'files' ? `file ${c.task}` : 'requestGc');

/** Returns a factory for in-process job environments on fresh homes; drivers and folders go after each test. */
export function useInProcessJobs(prefix = 'fp-jobs-'): (o?: InProcessJobsOptions) => InProcessJobs {
  const tmp = useTmpDirs(prefix);
  const open: InProcessDriver[] = [];
  afterEach(() => {
    for (const d of open.splice(0).reverse()) d.close();
  });
  return (o = {}) => {
    const dir = tmp();
    const armed = new Set<FailPoint>();
    const calls: string[] = [];
    const gcRequests: string[] = [];
    const redisLost = () => new ForkpointError(ErrorCodes.REDIS_UNAVAILABLE, 'redis: connection lost (injected)');
    const driver = openInProcess(join(dir, 'home'), {
      fsync: false,
      parallelism: 2,
      beforePortCall: async (c) => {
        calls.push(callOf(c));
        if (armed.delete(pointOf(c))) {
          if (c.port === 'requestGc') throw redisLost();
          throw new ForkpointError(ErrorCodes.IO, `${callOf(c)} failed: database or disk is full (injected)`);
        }
        if (c.port === 'files') await o.beforeFileTask?.(c.task);
      },
      afterPortCall: (c) => {
        if (c.port === 'requestGc') gcRequests.push(...c.baseIds);
      },
      progress: ({ done, total }) => {
        calls.push(`progress ${done}/${total}`);
        if (done === total && total > 0 && armed.delete('progress:final')) throw redisLost();
      },
    });
    open.push(driver);
    mkdirSync(driver.layout.basesDir, { recursive: true });
    return { dir, layout: driver.layout, writer: driver.writer, reader: driver.reader, ctx: driver.ctx, driver, failOnce: (point) => void armed.add(point), calls, gcRequests };
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
