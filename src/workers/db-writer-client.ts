/**
 * The pipeline's handle on its DB writer thread: `apply(command)` resolves
 * with the command's typed result or rejects with the ForkpointError the
 * writer raised. There is exactly one per home (the home lock sees to it).
 */
import { Worker } from 'node:worker_threads';
import { ErrorCodes, ForkpointError } from '../errors.js';
import type { ResultOf, WriterCommand } from '../db/types.js';
import { compiledModuleUrl } from './compiled-url.js';
import type { WriterSignal } from './db-writer-protocol.js';

export interface WriterPort {
  apply<C extends WriterCommand>(command: C): Promise<ResultOf<C>>;
}

export interface DbWriterClient extends WriterPort {
  /** Commands applied so far (for metrics). */
  readonly applied: number;
  /**
   * Called once if the thread dies (an uncaught error, or an exit nobody asked
   * for). Every waiting and later command fails; the pipeline must stop.
   */
  onFailure(listener: (err: Error) => void): void;
  close(): Promise<void>;
}

/**
 * `openAfter`: the thread starts now, loading its modules, and opens the database only once this
 * settles (start-up recovery, which writes the database first); rejected, the thread is stopped
 * and so is the start. Booting a thread took ~200 ms of a fresh CLI command's start-up here,
 * which used to begin only after recovery.
 */
export async function startDbWriter(home: string, o: { openAfter?: Promise<unknown> } = {}): Promise<DbWriterClient> {
  const worker = new Worker(compiledModuleUrl(import.meta.url, 'workers/db-writer-thread.js'), { workerData: { home } });
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let nextId = 1;
  let applied = 0;
  let failure: Error | null = null;
  let onClosed: (() => void) | null = null;
  const failureListeners: Array<(err: Error) => void> = [];
  const fail = (err: Error) => {
    if (failure) return;
    failure = err;
    for (const entry of waiting.values()) entry.reject(err);
    waiting.clear();
    for (const listener of failureListeners) listener(err);
  };

  const ready = new Promise<void>((resolveReady, rejectReady) => {
    worker.on('message', (msg: WriterSignal) => {
      if ('ready' in msg) return resolveReady();
      if ('closed' in msg) return onClosed?.();
      const entry = waiting.get(msg.id);
      if (!entry) return;
      waiting.delete(msg.id);
      applied++;
      if (msg.ok) entry.resolve(msg.value);
      else entry.reject(ForkpointError.fromJSON(msg.error));
    });
    // A thread that dies (e.g. the DB cannot open) fails start-up and every waiting command.
    worker.on('error', (err) => {
      rejectReady(err);
      fail(new ForkpointError(ErrorCodes.IO, `the database writer thread died: ${err.message}`, {}, { cause: err }));
    });
    worker.on('exit', (code) => {
      // Asked to close: a thread that died before saying 'closed' must not leave close() waiting.
      if (onClosed) return onClosed();
      const err = new ForkpointError(ErrorCodes.IO, `the database writer thread exited unexpectedly (code ${code})`);
      rejectReady(err);
      fail(err);
    });
  });
  ready.catch(() => undefined); // awaited below, unless openAfter fails first
  try {
    await o.openAfter;
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  worker.postMessage({ open: true });
  await ready;

  return {
    get applied() {
      return applied;
    },
    onFailure(listener) {
      if (failure) listener(failure);
      else failureListeners.push(listener);
    },
    apply<C extends WriterCommand>(command: C): Promise<ResultOf<C>> {
      if (failure) return Promise.reject(failure);
      if (onClosed) return Promise.reject(new ForkpointError(ErrorCodes.SHUTTING_DOWN, 'the database writer is closing'));
      const id = nextId++;
      return new Promise<ResultOf<C>>((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
        worker.postMessage({ id, command });
      });
    },
    async close() {
      if (failure) {
        await worker.terminate();
        return;
      }
      await new Promise<void>((resolveClosed) => {
        onClosed = resolveClosed;
        worker.postMessage({ close: true });
      });
      await worker.terminate();
    },
  };
}
