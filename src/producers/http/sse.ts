/**
 * Server-sent events: one writer per stream, a keep-alive comment so proxies
 * keep it open, and clean-up when the client goes away or the server closes.
 */
import type { FastifyReply } from 'fastify';

export interface SseStream {
  send(event: string, data: unknown): void;
  close(): void;
  readonly closed: boolean;
  /** Runs once, when the stream ends for any reason. */
  onClose(fn: () => void): void;
}

const KEEP_ALIVE_MS = 15_000;

export function openSse(reply: FastifyReply, registry: Set<SseStream>): SseStream {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.write(': forkpoint\n\n');
  const cleanups: (() => void)[] = [];
  let closed = false;
  const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  keepAlive.unref();
  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    registry.delete(stream);
    for (const fn of cleanups.splice(0)) fn();
  };
  const stream: SseStream = {
    send(event, data) {
      if (closed) return;
      raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    close() {
      if (closed) return;
      finish();
      raw.end();
    },
    get closed() {
      return closed;
    },
    onClose(fn) {
      if (closed) fn();
      else cleanups.push(fn);
    },
  };
  // The response's 'close' fires when the client goes away (or after end()). A client that left
  // before the stream opened had its 'close' already: end at once, or the route's listeners would stay.
  raw.on('close', finish);
  registry.add(stream);
  if (raw.closed) finish();
  return stream;
}
