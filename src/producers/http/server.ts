/**
 * The HTTP side of `forkpoint serve`: the JSON API, the live page, the queue
 * dashboard, health and metrics, on one fastify instance that shares the
 * process with the pipeline. `buildHttpApp` wires modules together;
 * `startHttpServer` opens what they need (a producer client, a DB reader),
 * listens, and closes in order.
 */
import { MAX_NAME_BYTES } from '../../names.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type RouteOptions } from 'fastify';
import type { Logger } from 'pino';
import { ErrorCodes, ForkpointError, isForkpointError } from '../../errors.js';
import { openReader } from '../../db/reader.js';
import type { HomeLayout } from '../../layout.js';
import { pingRedis } from '../../runtime/connect-redis.js';
import { parseRedisUrl } from '../../runtime/redis-url.js';
import type { Pipeline } from '../../workers/pipeline.js';
import { Forkpoint } from '../client.js';
import { assertBindAllowed, installAuth } from './auth.js';
import type { HttpContext } from './context.js';
import { mountDashboard } from './dashboard.js';
import { frameworkErrors, installErrorHandling } from './errors.js';
import { createMetrics, packageVersion } from './metrics.js';
import { installOpenApi, serveOpenApi } from './openapi.js';
import { installValidation } from './validate.js';
import { pageRoutes } from './page.js';
import { baseRoutes } from './routes/bases.js';
import { boxRoutes } from './routes/boxes.js';
import { ociRoutes } from './routes/oci.js';
import { boxRemovalRoutes } from './routes/box-removals.js';
import { eventRoutes } from './routes/events.js';
import { forestRoutes } from './routes/forest.js';
import { nodeJobRoutes } from './routes/node-jobs.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { rootfsRoutes } from './routes/rootfs.js';
import { DEFAULT_MAX_UPLOAD_BYTES, uploadRoutes } from './routes/uploads.js';
import { snapshotRoutes } from './routes/snapshots.js';
import { restoreRoutes } from './routes/restore.js';
import { inspectRoutes } from './routes/inspect.js';
import { DEFAULT_MAX_STREAMS, createStreamSlots } from './stream-slots.js';
import { logJobFinished } from './logging.js';

export const DEFAULT_PORT = 7420;
export const DEFAULT_HOST = '127.0.0.1';

export interface BuildOptions {
  /** Told of every route as it is registered (tests compare them with the OpenAPI document). */
  onRoute?: (route: RouteOptions) => void;
}

export async function buildHttpApp(ctx: HttpContext, o: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    // Our own one-line request log below (API calls only); fastify's two lines per request are noise here.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 4 * 1024 * 1024,
    // A box id, snapshot name or upload name is up to MAX_NAME_BYTES; in a URL each byte may take
    // 3 characters (%XX). fastify's default (100) made such boxes, created fine, unreachable here.
    routerOptions: { maxParamLength: 3 * MAX_NAME_BYTES },
    frameworkErrors,
  });
  if (o.onRoute) app.addHook('onRoute', o.onRoute);
  installErrorHandling(app);
  installValidation(app);
  // Before any route: the document is made of the routes registered after this.
  await installOpenApi(app, { version: packageVersion(), authenticated: ctx.token !== null });
  installAuth(app, ctx.token);
  app.addHook('onResponse', async (request, reply) => {
    if (request.url.startsWith('/api/')) request.log.info({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
  // Live streams and waiting requests would hold the server open (their job may never run once
  // the workers stop); end them before it waits for connections.
  app.addHook('preClose', async () => {
    ctx.stopping = true;
    ctx.closing.abort();
    for (const stream of [...ctx.streams]) stream.close();
  });
  const metrics = createMetrics(ctx);
  app.addHook('onClose', async () => metrics.dispose());
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.scrape()));

  healthRoutes(app, ctx);
  ociRoutes(app, ctx); // before boxRoutes: /api/boxes/import is not a box id
  boxRoutes(app, ctx);
  boxRemovalRoutes(app, ctx);
  snapshotRoutes(app, ctx);
  restoreRoutes(app, ctx);
  inspectRoutes(app, ctx);
  rootfsRoutes(app, ctx);
  uploadRoutes(app, ctx);
  baseRoutes(app, ctx);
  forestRoutes(app, ctx);
  nodeJobRoutes(app, ctx);
  jobRoutes(app, ctx);
  eventRoutes(app, ctx);
  pageRoutes(app);
  await serveOpenApi(app);
  await mountDashboard(app, ctx);
  return app;
}

export interface HttpServerOptions {
  layout: HomeLayout;
  homeId: string;
  redisUrl: string;
  prefix: string;
  pipeline: Pick<Pipeline, 'events' | 'writer' | 'recovery' | 'active' | 'importDirs' | 'repair'>;
  log: Logger;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  token?: string | null;
  /** Override readiness probes (tests). */
  probes?: HttpContext['probes'];
  /**
   * How many SSE streams and `?wait=1` requests may be open at once (default
   * DEFAULT_MAX_STREAMS); past it they are refused with 503 E_BUSY and `Retry-After`.
   */
  maxStreams?: number;
  /** The largest upload taken (default DEFAULT_MAX_UPLOAD_BYTES); past it 413. */
  maxUploadBytes?: number;
  onRoute?: BuildOptions['onRoute'];
}

export interface HttpServer {
  url: string;
  app: FastifyInstance;
  ctx: HttpContext;
  /** Stop listening (live streams end), then close the client and the reader. */
  close(): Promise<void>;
}

/**
 * Why a listen failed, as the error the CLI prints in one line (and exits with
 * its code): the port is taken (E_CONFLICT, exit 3), or the host or port cannot
 * be used on this machine (E_INVALID_ARGUMENT, exit 2). Anything else is
 * returned unchanged.
 */
export function toListenError(err: unknown, host: string, port: number): unknown {
  if (isForkpointError(err)) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (code) {
    case 'EADDRINUSE':
      return new ForkpointError(ErrorCodes.CONFLICT, `cannot listen on ${where}: the port is already in use (another forkpoint serve? pick another --port, or 0 for a free one)`, { field: 'port', host, port }, { cause: err });
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
      return new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `cannot listen on ${where}: ${host} is not an address of this machine`, { field: 'host', host, port }, { cause: err });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `cannot listen on ${where}: host ${host} does not resolve`, { field: 'host', host, port }, { cause: err });
    case 'EACCES':
      return port > 0 && port < 1024
        ? new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `cannot listen on ${where}: ports below 1024 need privileges; pick a --port from 1024 up (or 0 for a free one)`, { field: 'port', host, port }, { cause: err })
        : new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `cannot listen on ${where}: permission denied`, { field: 'host', host, port }, { cause: err });
    default:
      return err;
  }
}

export async function startHttpServer(o: HttpServerOptions): Promise<HttpServer> {
  const host = o.host ?? DEFAULT_HOST;
  const token = o.token || null;
  assertBindAllowed(host, token);
  const slots = createStreamSlots(o.maxStreams ?? DEFAULT_MAX_STREAMS); // checks the number before anything opens
  // Fail fast: a request while Redis is down answers 503 E_REDIS_UNAVAILABLE at once, not when Redis is back.
  const client = await Forkpoint.connect({ redisUrl: o.redisUrl, homeId: o.homeId, prefix: o.prefix, failFast: true });
  const reader = openReader(o.layout.home);
  const redisTarget = parseRedisUrl(o.redisUrl);
  const ctx: HttpContext = {
    layout: o.layout,
    homeId: o.homeId,
    client,
    reader,
    pipeline: o.pipeline,
    log: o.log,
    token,
    lastRecovery: o.pipeline.recovery,
    probes: o.probes ?? { redis: () => pingRedis(redisTarget) },
    streams: new Set(),
    slots,
    maxUploadBytes: o.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    stopping: false,
    closing: new AbortController(),
  };
  const onFinished = (e: Parameters<typeof logJobFinished>[1]) => logJobFinished(o.log, e);
  o.pipeline.events.on('job-finished', onFinished);
  let app: FastifyInstance | null = null;
  let inListen = false;
  try {
    app = await buildHttpApp(ctx, o.onRoute ? { onRoute: o.onRoute } : {});
    inListen = true;
    await app.listen({ host, port: o.port ?? DEFAULT_PORT });
  } catch (err) {
    o.pipeline.events.off('job-finished', onFinished);
    await app?.close();
    await client.close();
    reader.close();
    throw inListen ? toListenError(err, host, o.port ?? DEFAULT_PORT) : err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (o.port ?? DEFAULT_PORT);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const a = app;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${shownHost}:${port}`,
    app,
    ctx,
    close() {
      closing ??= (async () => {
        await a.close();
        o.pipeline.events.off('job-finished', onFinished);
        await client.close();
        reader.close();
      })();
      return closing;
    },
  };
}
