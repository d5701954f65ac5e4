/**
 * Keep a home's private redis-server running for the life of its owner: one that dies (killed,
 * crashed) is restarted on the same data folder (its AOF holds the queues) and socket, so the
 * clients' own reconnects find it and queued work goes on. A server that keeps dying is not
 * restarted for ever: past `max` restarts within `windowMs`, or when a restart fails, the owner
 * is told (onLost) and should stop, non-zero, rather than loop against it (docs/service.md).
 */
import { ErrorCodes, ForkpointError } from '../errors.js';
import { startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis.js';
import type { LogLine } from './log-line.js';

/** At most 3 restarts in any minute: a server killed now and then comes back; one that dies as it starts does not loop. */
export const EMBEDDED_RESTART_BUDGET = { max: 3, windowMs: 60_000 };

export interface KeptRedis {
  /** The server running now (a restart replaces it; same socket, same data). */
  current(): EmbeddedRedis;
  /** Called once when the server is gone for good (cannot restart, or out of restarts); at once if that happened already. */
  onLost(listener: (err: ForkpointError) => void): void;
  /** Stop restarting, wait for a restart under way, stop the server. */
  stop(): Promise<void>;
}

export function keepEmbeddedRedis(first: EmbeddedRedis, runDir: string, log: LogLine, budget = EMBEDDED_RESTART_BUDGET): KeptRedis {
  let current = first;
  let stopped = false;
  let restarting: Promise<void> | null = null;
  const restarts: number[] = [];
  let lost: ForkpointError | null = null;
  const lostListeners: ((err: ForkpointError) => void)[] = [];
  const where = `same data (${first.dataDir ?? 'none: an adopted server that kept nothing'}) and socket (unix:${first.socket})`;
  const giveUp = (message: string) => {
    log(message, 'error');
    lost ??= new ForkpointError(ErrorCodes.REDIS_UNAVAILABLE, message, { path: first.socket });
    for (const l of lostListeners.splice(0)) l(lost);
  };
  const watch = (server: EmbeddedRedis) =>
    server.onExit((how) => {
      if (stopped) return;
      const now = Date.now();
      while (restarts.length > 0 && now - restarts[0]! > budget.windowMs) restarts.shift();
      if (restarts.length >= budget.max) {
        giveUp(`${how}; restarted ${restarts.length} time${restarts.length === 1 ? '' : 's'} within ${budget.windowMs / 1000} s already: not again. Stopping; queued jobs stay in its data for the next start`);
        return;
      }
      restarts.push(now);
      log(`${how}; restarting it on the ${where}: queued jobs go on once the clients reconnect`, 'error');
      restarting = (async () => {
        try {
          const next = await startEmbeddedRedis(runDir);
          current = next;
          watch(next);
          log(`restarted the private redis-server (pid ${next.pid}) at unix:${next.socket}`, 'warn');
        } catch (err) {
          giveUp(`cannot restart the private redis-server: ${(err as Error).message}. Stopping; queued jobs stay in its data for the next start`);
        } finally {
          restarting = null;
        }
      })();
    });
  watch(first);
  return {
    current: () => current,
    onLost(listener) {
      if (lost) listener(lost);
      else lostListeners.push(listener);
    },
    async stop() {
      stopped = true;
      await restarting;
      await current.stop();
    },
  };
}
