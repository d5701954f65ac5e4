/**
 * The one place HTTP errors are made: every failure leaves as
 * `{ error: { code, message, details } }` with the ForkpointError's status.
 * Framework errors (bad JSON, wrong content type, body too large) become
 * E_BAD_PAYLOAD; anything unexpected is a 500 that is logged with its stack.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { ErrorCodes, ForkpointError, isForkpointError } from '../../errors.js';

export function toForkpointError(err: unknown): ForkpointError {
  if (isForkpointError(err)) return err;
  const fe = err as Partial<FastifyError> | null;
  const status = fe?.statusCode;
  if (status === 413) return new ForkpointError(ErrorCodes.BAD_PAYLOAD, `request body too large: ${fe?.message}`, { field: '(body)', in: 'body' });
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ForkpointError(ErrorCodes.BAD_PAYLOAD, `bad request: ${fe?.message ?? 'unreadable request'}`, { field: '(body)', in: 'body', fastifyCode: fe?.code });
  }
  return new ForkpointError(ErrorCodes.IO, `internal error: ${(err as Error)?.message ?? String(err)}`);
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const fp = toForkpointError(err);
    if (fp.httpStatus >= 500) request.log.error({ err }, `${request.method} ${request.url} failed`);
    else request.log.info({ code: fp.code, details: fp.details }, `${request.method} ${request.url}: ${fp.message}`);
    void reply.code(fp.httpStatus).send({ error: fp.toJSON() });
  });
  app.setNotFoundHandler((request, reply) => {
    const fp = new ForkpointError(ErrorCodes.NOT_FOUND, `no route ${request.method} ${request.url.split('?')[0]}`, { path: request.url });
    void reply.code(404).send({ error: fp.toJSON() });
  });
}
