/**
 * The connection BullMQ queues and workers are given for a Redis URL. A
 * single Redis: plain options (each Queue/Worker opens its own client). A
 * Redis Cluster: one ioredis Cluster client, which BullMQ shares between
 * queues and duplicates for each blocking worker connection; its owner closes
 * it last. On a cluster every key of a queue must hash to one slot (BullMQ's
 * Lua scripts touch several keys at once), so the prefix must carry a hash
 * tag (`{forkpoint}`, the default): refused here otherwise, before anything
 * connects, rather than failing every job with CROSSSLOT.
 */
import type { ConnectionOptions } from 'bullmq';
import { Cluster } from 'ioredis';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { parseRedisUrl } from './redis-url.js';

export interface BullConnection {
  connection: ConnectionOptions;
  /** Whether this is a Redis Cluster. */
  cluster: boolean;
  /** Close what this made (the shared Cluster client); after every queue and worker on it closed. */
  close(): Promise<void>;
  /**
   * Drop what this made at once, without a QUIT: for a close given up on because Redis does not
   * answer (a QUIT to a cluster that is gone waits for ever, and the client would go on reconnecting).
   */
  disconnect(): void;
}

/** The hash tag Redis Cluster takes from keys that start with `prefix` (the text in its first `{…}`), or null. */
export function hashTagOf(prefix: string): string | null {
  const open = prefix.indexOf('{');
  const close = open < 0 ? -1 : prefix.indexOf('}', open + 1);
  return close > open + 1 ? prefix.slice(open + 1, close) : null;
}

/** Refuse a URL that does not parse, or a cluster with a prefix its keys cannot share a slot under. Pure: callers check before they open anything. */
export function checkRedisTarget(url: string, prefix: string): void {
  if (parseRedisUrl(url).cluster && hashTagOf(prefix) === null) {
    throw new ForkpointError(
      ErrorCodes.INVALID_ARGUMENT,
      `prefix "${prefix}" has no hash tag: on a Redis Cluster every key of a queue must hash to one slot; use a prefix like "{${prefix.replace(/[{}]/g, '') || 'forkpoint'}}"`,
      { field: 'prefix' },
    );
  }
}

export function bullConnection(url: string, prefix: string): BullConnection {
  checkRedisTarget(url, prefix);
  const target = parseRedisUrl(url);
  if (!target.cluster) return { connection: { ...target.options, maxRetriesPerRequest: null }, cluster: false, close: async () => undefined, disconnect: () => undefined };
  // BullMQ's blocking connections must never give up on a command (maxRetriesPerRequest: null).
  const client = new Cluster(target.cluster, { redisOptions: { ...target.options, maxRetriesPerRequest: null } });
  // Queues and workers listen for errors on their own connections; the shared client must not end the process on one.
  client.on('error', () => undefined);
  return {
    connection: client,
    cluster: true,
    close: async () => {
      await client.quit().catch(() => client.disconnect());
    },
    disconnect: () => client.disconnect(),
  };
}

