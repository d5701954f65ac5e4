/**
 * One cap on the requests that stay open: server-sent-event streams
 * (`/api/events`, a job's progress) and mutations with `?wait=1`. Each holds
 * a socket and queue listeners for as long as it lasts, so one client could
 * otherwise hold any number. A route takes a slot before it starts to hold
 * anything; the slot is given back when the response closes, for any reason
 * (the stream or the answer ended, the client went away). Past the cap the
 * route answers at once: 503 E_BUSY with `Retry-After`.
 */
import type { FastifyReply } from 'fastify';
import { ErrorCodes, ForkpointError } from '../../errors.js';

export const DEFAULT_MAX_STREAMS = 256;
/** The `Retry-After` of a refusal: streams are long, but a waited-for job often ends within seconds. */
export const BUSY_RETRY_AFTER_SECONDS = 5;
/** Far above any sane cap; each slot is a socket, so the file-descriptor limit bites long before. */
export const MAX_MAX_STREAMS = 1_000_000;

export interface StreamSlots {
  readonly max: number;
  /** Slots held now. */
  readonly inUse: number;
  /**
   * Take a slot until this reply's response closes; throws E_BUSY (503, with
   * `details.retryAfterSeconds`, which the error handler turns into `Retry-After`)
   * when every slot is taken.
   */
  take(reply: FastifyReply): void;
}

export function isValidMaxStreams(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_MAX_STREAMS;
}

export function createStreamSlots(max: number = DEFAULT_MAX_STREAMS): StreamSlots {
  if (!isValidMaxStreams(max)) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `maxStreams must be an integer from 1 to ${MAX_MAX_STREAMS}, got ${String(max)}`, { field: 'maxStreams' });
  }
  let inUse = 0;
  return {
    max,
    get inUse() {
      return inUse;
    },
    take(reply) {
      const raw = reply.raw;
      // The client left before the route got here: its 'close' has fired already and would never
      // give the slot back. Nothing is held for it (the SSE writer ends such a stream at once).
      if (raw.closed) return;
      if (inUse >= max) {
        throw new ForkpointError(
          ErrorCodes.BUSY,
          `too many open streams and waiting requests (the limit is ${max}); retry in ${BUSY_RETRY_AFTER_SECONDS} s, or poll the job instead of waiting`,
          { limit: max, retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS },
        );
      }
      inUse++;
      raw.once('close', () => {
        inUse--;
      });
    },
  };
}
