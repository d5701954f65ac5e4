/**
 * `forkpoint serve`: run the pipeline for a home and the HTTP service (API,
 * page, dashboard, metrics) until SIGINT/SIGTERM; then the HTTP server and
 * the queue workers stop taking work at the same moment, active jobs finish
 * (bounded by --grace), and the pool, writer and DB close.
 */
import { Option, type Command } from 'commander';
import { isAbsolute } from 'node:path';
import { ErrorCodes, ForkpointError, isForkpointError } from '../../../errors.js';
import { action } from '../output.js';
import { openHome, type GlobalFlags } from '../session.js';

interface ServeFlags {
  grace: string;
  homeWait: string;
  host: string;
  port: string;
  token?: string;
  maxStreams: string;
  importDir?: string[];
}

/** --import-dir (repeatable), else FORKPOINT_IMPORT_DIRS (colon-separated), else the home's import/ (undefined here). */
function importDirsFrom(flag: string[] | undefined, env: string | undefined): string[] | undefined {
  const dirs = flag ?? env?.split(':').filter((d) => d !== '');
  if (dirs === undefined || dirs.length === 0) return undefined;
  const relative = dirs.find((d) => !isAbsolute(d));
  if (relative !== undefined) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `import folders must be absolute paths, got "${relative}"`, { field: 'import-dir' });
  }
  return dirs;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `--port must be an integer from 0 to 65535 (0 picks a free one), got "${value}"`, { field: 'port' });
  }
  return port;
}

/** --max-streams: the cap on open SSE streams and ?wait=1 requests (the limits live with the HTTP side). */
async function parseMaxStreams(value: string): Promise<number> {
  const { isValidMaxStreams, MAX_MAX_STREAMS } = await import('../../http/stream-slots.js');
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!isValidMaxStreams(n)) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `--max-streams must be an integer from 1 to ${MAX_MAX_STREAMS}, got "${value}"`, { field: 'max-streams' });
  }
  return n;
}

/** After the pipeline closed (its own Redis wait bounded), how much longer the HTTP side's close may wait: it began at the same time. */
const HTTP_CLOSE_BOUND_MS = 1_000;

/** setTimeout holds at most 2^31-1 ms; beyond that Node fires after 1 ms, which would cut the grace to nothing. */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** A flag in seconds (fractions allowed) to milliseconds: --grace, --home-wait. */
function parseSeconds(flag: string, value: string): number {
  const seconds = /^\s*$/.test(value) ? Number.NaN : Number(value);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > MAX_TIMER_SECONDS) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `--${flag} must be a number of seconds from 0 to ${MAX_TIMER_SECONDS}, got "${value}"`, { field: flag });
  }
  return Math.round(seconds * 1000);
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('own the home: take jobs from its queues and serve the HTTP API, page and dashboard until SIGINT/SIGTERM')
    .option('--grace <seconds>', 'on shutdown, how long active jobs may run before they are handed back', '30')
    .option('--home-wait <seconds>', 'how long to wait for a forkpoint command that holds the home to finish (another serve is refused at once)', '60')
    .option('--host <host>', 'address to listen on (anything but loopback needs a token)', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', '7420')
    .option('--import-dir <dir...>', 'folders whose files requests may name (fromImage, a rootfs image); default <home>/import [env: FORKPOINT_IMPORT_DIRS, colon-separated]')
    .option('--max-streams <n>', 'how many event streams and ?wait=1 requests may be open at once (more get 503 E_BUSY)', '256')
    .addOption(new Option('--token <token>', 'bearer token every route but /healthz requires').env('FORKPOINT_TOKEN'))
    .addHelpText('after', '\nExamples:\n  forkpoint serve\n  forkpoint serve --port 0 --json\n  FORKPOINT_TOKEN=s3cret forkpoint serve --host 0.0.0.0')
    .action(
      action(async (o: ServeFlags, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        const port = parsePort(o.port);
        const shutdownGraceMs = parseSeconds('grace', o.grace);
        const homeWaitMs = parseSeconds('home-wait', o.homeWait);
        const token = o.token || null;
        const maxStreams = await parseMaxStreams(o.maxStreams);
        const importDirs = importDirsFrom(o.importDir, process.env.FORKPOINT_IMPORT_DIRS);
        const { assertBindAllowed } = await import('../../http/auth.js');
        assertBindAllowed(o.host, token); // before the home is locked or anything starts
        const { config, layout, homeId } = openHome(flags, 'create');
        const { createLogger, lineLogger } = await import('../../http/logging.js');
        const logger = createLogger();
        const log = lineLogger(logger);
        // Listen for SIGINT/SIGTERM before anything starts: one arriving during start-up (recovery,
        // the pipeline, listening) would otherwise kill the process the hard way, mid-job. It is
        // acted on as soon as the start is complete. A dead DB writer resolves it too (below).
        let requestStop!: (fatal: Error | null) => void;
        const stopRequested = new Promise<Error | null>((resolve) => (requestStop = resolve));
        const beforeStart = new AbortController(); // a signal while waiting for the home ends the wait
        const onSignal = (signal: string) => {
          logger.info({ signal }, 'stopping: no new requests or jobs; active jobs finish');
          beforeStart.abort();
          requestStop(null);
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        const { startService } = await import('../../service.js');
        const { startHttpServer } = await import('../../http/server.js');
        let service: Awaited<ReturnType<typeof startService>>;
        try {
          service = await startService({ config, layout, homeId, log, shutdownGraceMs, homeWaitMs, signal: beforeStart.signal, ...(importDirs ? { importDirs } : {}) });
        } catch (err) {
          // Asked to stop before anything started: that is a clean stop, not a failure.
          if (beforeStart.signal.aborted && isForkpointError(err, ErrorCodes.SHUTTING_DOWN)) {
            logger.info('stopped before starting');
            return;
          }
          throw err;
        }
        // Going on without a DB writer would only fail every job: stop, and let a supervisor's
        // restart run recovery. Jobs cut off stay queued and are retried then.
        // Likewise a private redis-server that cannot be restarted (runtime/embedded-redis-keeper.ts).
        service.onFatal((err) => {
          logger.error({ err }, 'stopping: the pipeline cannot go on');
          requestStop(err);
        });
        let http: Awaited<ReturnType<typeof startHttpServer>>;
        try {
          http = await startHttpServer({
            layout,
            homeId,
            redisUrl: service.redisUrl,
            prefix: config.prefix,
            pipeline: service.pipeline,
            log: logger,
            host: o.host,
            port,
            token,
            maxStreams,
          });
        } catch (err) {
          // The pipeline is up and holds the home lock: stop it, and report why the HTTP side failed.
          await service.stop().catch((stopErr: unknown) => logger.error({ err: stopErr }, 'stopping after a failed start failed'));
          throw err;
        }
        service.advertise(http.url);
        logger.info({ home: layout.home, homeId, redis: service.redisUrl, recovery: service.pipeline.recovery.summary, url: http.url }, 'serving');
        process.stderr.write(`forkpoint: listening on ${http.url}\n`);
        if (flags.json) process.stdout.write(`${JSON.stringify({ url: http.url, home: layout.home, homeId })}\n`);
        const fatal = await stopRequested;
        // Together: closing HTTP first would let the workers take new jobs while it drains.
        // The HTTP side's job client waits on Redis as BullMQ's workers do (its QueueEvents never
        // close while Redis is gone): once the pipeline is down it gets a short bound, then the exit drops it.
        const httpClosed = http.close().then(() => true);
        const clean = await service.stop();
        const httpDone = await Promise.race([httpClosed, new Promise<false>((r) => setTimeout(() => r(false), HTTP_CLOSE_BOUND_MS).unref())]);
        if (!httpDone) logger.error(`the HTTP side's Redis connections did not close within ${HTTP_CLOSE_BOUND_MS} ms; dropped by the exit`);
        if (fatal) throw fatal;
        if (!clean) {
          // Exit 3 (E_REDIS_UNAVAILABLE), as a CLI command finding Redis down: a supervisor learns that
          // jobs may be waiting in a Redis that did not answer; started again once Redis is back, all goes on.
          throw new ForkpointError(ErrorCodes.REDIS_UNAVAILABLE, `stopped without a clean close: Redis at ${service.redisUrl} did not answer; the jobs it holds stay queued there (see the log)`, { field: 'redis' });
        }
        logger.info('stopped');
      }),
    );
}
