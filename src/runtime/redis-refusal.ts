/** Errors of a Redis that would not take a command, made typed (no ioredis here: the CLI's error path loads it). */
import { ErrorCodes, ForkpointError, isForkpointError } from '../errors.js';

/**
 * Redis refuses writes because it cannot save its data (MISCONF: its AOF or RDB write failed):
 * E_NO_SPACE when its disk is full, else E_REDIS_UNAVAILABLE; null for any other error. Nothing
 * that writes (a job's every step does) gets through until it can save again.
 */
export function redisRefusesWrites(err: unknown, display?: string): ForkpointError | null {
  if (isForkpointError(err)) return null; // said already, in our words
  const message = (err as Error | null)?.message ?? '';
  if (!/^MISCONF\b/.test(message)) return null;
  const full = /No space left on device/i.test(message);
  const said = message.split(/ script:|\n/)[0];
  const which = display === undefined ? 'Redis' : `Redis at ${display}`;
  return new ForkpointError(full ? ErrorCodes.NO_SPACE : ErrorCodes.REDIS_UNAVAILABLE, `${which} refuses writes: it cannot save its data (${said}); ${full ? 'free space on its disk' : 'see its log'}, then retry`, {}, { cause: err });
}

/**
 * A command Redis could not take, as a ForkpointError naming the Redis: refused at once because
 * the connection is down (a connection made with `enableOfflineQueue: false`, which does not wait
 * for ioredis to reconnect) or not answered in time (its `commandTimeout`: Redis stopped or stuck
 * with its socket open; the command may still run once it resumes), E_REDIS_UNAVAILABLE; or refused because it cannot save its data
 * (redisRefusesWrites). Any other error is returned as it is.
 */
export function redisUnavailableFrom(err: unknown, display?: string): unknown {
  if (isForkpointError(err)) return err;
  const refusal = redisRefusesWrites(err, display);
  if (refusal) return refusal;
  const message = (err as Error | null)?.message ?? '';
  if (!/enableOfflineQueue options is false|Connection is closed|^Command timed out/.test(message)) return err;
  const which = display === undefined ? 'Redis' : `Redis at ${display}`;
  return new ForkpointError(ErrorCodes.REDIS_UNAVAILABLE, `${which} does not answer (${message}); retry once it is back`, { retryAfterSeconds: 1 }, { cause: err });
}
