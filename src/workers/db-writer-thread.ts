/**
 * The single DB writer, as a worker thread. It owns the only write
 * connection of the home and applies commands in arrival order. Commands that
 * arrive while a transaction commits are applied together in the next one
 * (one fsync for many commands: that is where batch-clone throughput comes
 * from), each inside its own savepoint so one refusal never undoes another.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { faultPoint } from '../faults.js';
import { fromSqliteError, openWriter, type DbWriter } from '../db/writer.js';
import type { WriterCommand } from '../db/types.js';
import type { WriterReply, WriterRequest } from './db-writer-protocol.js';

const MAX_BATCH = 512;
const port = parentPort!;
/** Opened on the `open` message: the thread boots (loads its modules) while start-up recovery runs, and recovery writes. */
let writer!: DbWriter;

let pending: Array<{ id: number; command: WriterCommand }> = [];
let scheduled = false;
let closing = false;

function toErrorJson(err: unknown) {
  return fromSqliteError(err, 'database writer').toJSON();
}

function flush(): void {
  scheduled = false;
  // Outside the try below on purpose: a test's way to make this thread die (as a native crash would).
  faultPoint('writer:flush');
  while (pending.length > 0) {
    const batch = pending.slice(0, MAX_BATCH);
    pending = pending.slice(MAX_BATCH);
    let replies: WriterReply[];
    try {
      const results = writer.applyBatch(batch.map((b) => b.command));
      // BatchOutcome is already plain data ({ ok, value } or { ok, error } as ForkpointError JSON).
      replies = results.map((r, i) => ({ ...r, id: batch[i]!.id }));
    } catch (err) {
      const error = toErrorJson(err);
      replies = batch.map((b) => ({ id: b.id, ok: false as const, error }));
    }
    for (const reply of replies) port.postMessage(reply);
  }
  if (closing) {
    writer?.close(); // a close before any open (a start-up given up on) has nothing to close
    port.postMessage({ closed: true });
    port.close();
  }
}

port.on('message', (msg: WriterRequest) => {
  if ('open' in msg) {
    // Start-up recovery checked the database's pages moments before (quick_check: ~0.3 s at 100k bases).
    writer = openWriter((workerData as { home: string }).home, { verify: false });
    port.postMessage({ ready: true });
    return;
  }
  if ('close' in msg) {
    closing = true;
  } else {
    pending.push(msg);
  }
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
});

