/**
 * The Piscina pool that does qcow2 file work off the main thread. `run`
 * returns the task's typed result or throws the ForkpointError it raised.
 * `inline` runs the same module on the calling thread: the in-process core
 * and the tests use it, so both paths execute identical code.
 */
import { Piscina } from 'piscina';
import { ForkpointError } from '../errors.js';
import { closeFlushers } from '../qcow2/filesystem-flusher.js';
import { compiledModuleUrl } from './compiled-url.js';
import runFileTask from './file-tasks.js';
import type { FileTask, FileTaskReply, FileTaskResult } from './file-task-types.js';

export interface FileRunner {
  run<T extends FileTask>(task: T): Promise<FileTaskResult<T>>;
  close(): Promise<void>;
  /** The last error of a pool thread outside any task, if one died (diagnostics). */
  readonly lastError?: Error | null;
}

function unwrap<T>(reply: FileTaskReply): T {
  if (reply.ok) return reply.value as T;
  throw ForkpointError.fromJSON(reply.error);
}

/**
 * A pool whose threads have all finished loading their module. Ending the
 * process (or terminating a thread) while a thread is still loading modules
 * can abort Node (SIGABRT in a worker's require, seen about once in 150 CLI
 * runs), so start-up waits until every thread has answered once: one ping per
 * thread, sent together, lands on each thread (a thread takes one task at a time).
 */
export async function startFilePool(threads: number): Promise<FileRunner> {
  const pool = createFilePool(threads);
  await Promise.all(Array.from({ length: threads }, () => pool.run({ type: 'ping' })));
  return pool;
}

/**
 * Tasks the pool runs on the calling thread, as no file work of their own would repay a thread hop:
 * a group flush waits for a syncfs helper process (filesystem-flusher.ts); the flush-mode choice
 * reads /proc/meminfo.
 */
const ON_CALLING_THREAD: ReadonlySet<FileTask['type']> = new Set<FileTask['type']>(['flushChildren', 'childrenFlushMode']);

function createFilePool(threads: number): FileRunner {
  const pool = new Piscina({
    filename: compiledModuleUrl(import.meta.url, 'workers/file-tasks.js').href,
    minThreads: threads,
    maxThreads: threads,
    // File tasks block on fsync: a small queue per thread keeps all threads busy.
    concurrentTasksPerWorker: 1,
  });
  // A thread that dies outside a task (tasks turn their own errors into data) is replaced by
  // Piscina; with no listener the 'error' event would end the whole process instead.
  let lastError: Error | null = null;
  pool.on('error', (err: Error) => void (lastError = err));
  return {
    async run<T extends FileTask>(task: T) {
      if (ON_CALLING_THREAD.has(task.type)) return unwrap<FileTaskResult<T>>(await runFileTask(task));
      return unwrap<FileTaskResult<T>>((await pool.run(task)) as FileTaskReply);
    },
    async close() {
      await pool.close();
      await closeFlushers();
    },
    get lastError() {
      return lastError;
    },
  };
}

export function inlineFileRunner(): FileRunner {
  return {
    async run<T extends FileTask>(task: T) {
      return unwrap<FileTaskResult<T>>(await runFileTask(task));
    },
    close: closeFlushers,
  };
}
