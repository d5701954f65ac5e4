/**
 * The one place HTTP errors are made: every failure leaves as
 * `{ error: { code, message, details } }` with the ForkpointError's status
 * (or the one a route gave that error with `withHttpStatus`), and a
 * `Retry-After` header when `details.retryAfterSeconds` says when to retry.
 * Framework errors (bad JSON, wrong content type, body too large) become
 * E_BAD_PAYLOAD; anything unexpected is a 500 that is logged with its stack.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCodes, ForkpointError, isForkpointError } from '../../errors.js';
import { redisUnavailableFrom } from '../../runtime/redis-refusal.js';

export function toForkpointError(err: unknown): ForkpointError {
  if (isForkpointError(err)) return err;
  // The service's client fails fast while Redis is down (ConnectOptions.failFast): 503, not a 500.
  const unavailable = redisUnavailableFrom(err);
  if (isForkpointError(unavailable)) return unavailable;
  const fe = err as Partial<FastifyError> | null;
  const status = fe?.statusCode;
  // Past even the room a name's longest URL form needs (server.ts): no name it could be.
  if (fe?.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return new ForkpointError(ErrorCodes.INVALID_NAME, `a name in the path is too long: ${fe.message}`, { field: '(path)', in: 'path' });
  }
  if (status === 413) return withHttpStatus(new ForkpointError(ErrorCodes.BAD_PAYLOAD, `request body too large: ${fe?.message}`, { field: '(body)', in: 'body' }), 413);
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ForkpointError(ErrorCodes.BAD_PAYLOAD, `bad request: ${fe?.message ?? 'unreadable request'}`, { field: '(body)', in: 'body', fastifyCode: fe?.code });
  }
  return new ForkpointError(ErrorCodes.IO, `internal error: ${(err as Error)?.message ?? String(err)}`);
}

const statusOverrides = new WeakMap<ForkpointError, number>();

/**
 * Answer this error with `status` instead of its code's: for a route where the
 * code stays right but its usual status would mislead (a file named in the
 * body that does not exist is E_NOT_FOUND, as everywhere, but not a 404: the
 * URL was fine). Returns the same error, to throw.
 */
export function withHttpStatus(err: ForkpointError, status: number): ForkpointError {
  statusOverrides.set(err, status);
  return err;
}

function httpStatusOf(err: ForkpointError): number {
  return statusOverrides.get(err) ?? err.httpStatus;
}

/**
 * Errors fastify raises before routing (it answers them itself, outside the
 * error handler): a path whose percent-escapes are not UTF-8 names nothing a
 * name could be, so it is refused as a name, in our shape.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const fp =
    err.code === 'FST_ERR_BAD_URL'
      ? new ForkpointError(ErrorCodes.INVALID_NAME, `bad URL: ${request.url.split('?')[0]}: a path segment is not well-formed UTF-8`, { field: '(path)', in: 'path' })
      : toForkpointError(err);
  void reply.code(httpStatusOf(fp)).send({ error: fp.toJSON() });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const fp = toForkpointError(err);
    const status = httpStatusOf(fp);
    // A refusal at the stream cap is load, not a fault: one line, no stack.
    if (fp.code === ErrorCodes.BUSY) request.log.warn({ code: fp.code, details: fp.details }, `${request.method} ${request.url}: ${fp.message}`);
    else if (status >= 500) request.log.error({ err }, `${request.method} ${request.url} failed`);
    else request.log.info({ code: fp.code, details: fp.details }, `${request.method} ${request.url}: ${fp.message}`);
    const retryAfter = fp.details.retryAfterSeconds;
    if (typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter >= 0) void reply.header('retry-after', String(Math.ceil(retryAfter)));
    void reply.code(status).send({ error: fp.toJSON() });
  });
  app.setNotFoundHandler((request, reply) => {
    const fp = new ForkpointError(ErrorCodes.NOT_FOUND, `no route ${request.method} ${request.url.split('?')[0]}`, { path: request.url });
    void reply.code(404).send({ error: fp.toJSON() });
  });
}
