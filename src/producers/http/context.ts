/**
 * What every route module receives: the home, a producer client (every
 * mutation is a queued job, exactly as the CLI does it), one shared read-only
 * DB connection, and the running pipeline's observable parts.
 */
import type { Logger } from 'pino';
import type { DbReader } from '../../db/reader.js';
import type { RecoveryReport } from '../../workers/recovery/index.js';
import type { HomeLayout } from '../../layout.js';
import type { Pipeline } from '../../workers/pipeline.js';
import type { Forkpoint } from '../client.js';
import type { SseStream } from './sse.js';
import type { StreamSlots } from './stream-slots.js';

export interface HttpContext {
  layout: HomeLayout;
  homeId: string;
  client: Forkpoint;
  /** WAL lets this connection read while the writer thread commits; it never writes. */
  reader: DbReader;
  pipeline: Pick<Pipeline, 'events' | 'writer' | 'recovery' | 'active' | 'importDirs' | 'repair'>;
  log: Logger;
  /** A bearer token every route but /healthz requires, or null (loopback only). */
  token: string | null;
  /** The last recovery report seen: start-up's, then each `GET /api/check` (metrics read its orphans). */
  lastRecovery: RecoveryReport;
  /** Readiness probes, injectable so a test can make one fail. */
  probes: { redis(): Promise<string | null> };
  /** Open server-sent-event streams, ended when the server closes (they would hold it open). */
  streams: Set<SseStream>;
  /** The cap on open streams and `?wait=1` requests together; every such route takes a slot first. */
  slots: StreamSlots;
  /** The largest upload (`PUT /api/uploads/:name`) taken, in bytes. */
  maxUploadBytes: number;
  /** Set when shutdown begins: /readyz turns 503 and live streams end. */
  stopping: boolean;
  /** Aborted when shutdown begins: `?wait=1` requests stop waiting (their job may never run now). */
  closing: AbortController;
}
