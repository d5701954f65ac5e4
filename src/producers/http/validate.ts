/**
 * Request validation: zod schemas for params, query strings and bodies, and
 * one function that turns the first failed check into a ForkpointError naming
 * the field. Routes declare the schemas on the route (`schema: { params,
 * querystring, body }`): `installValidation` makes fastify check them with
 * that function before the handler runs, and the OpenAPI document
 * (openapi.ts) is made from the same schemas. Names (box ids, snapshot names) use the same rule as the job
 * payloads (`nameProblem`), so the API refuses a path trick before anything
 * is queued.
 */
import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { z } from 'zod';
import { fieldError } from '../../contract/fields.js';

export { baseIdField, boxIdField, boxIdListField, nameField, opField, snapshotNameField } from '../../contract/fields.js';

/** Query flags: `?wait=1`, `?force=true`. */
export const flagField = z
  .enum(['1', '0', 'true', 'false', ''])
  .optional()
  .transform((v) => v === '1' || v === 'true' || v === '');

export type Where = 'params' | 'query' | 'body';

export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, where: Where): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw fieldError(result.error, `bad request ${where}`, { in: where }, `(${where})`);
}

const PARTS: Record<string, Where> = { params: 'params', querystring: 'query', body: 'body' };

/** Fastify's request parts, checked by their zod schemas; a failure is the ForkpointError `parseRequest` throws. */
export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const where = PARTS[httpPart ?? 'body'] ?? 'body';
  return (data: unknown) => {
    try {
      return { value: parseRequest(schema, data, where) };
    } catch (err) {
      return { error: err as Error };
    }
  };
};

/**
 * Route schemas validate requests; response schemas only describe answers (in
 * the OpenAPI document): replies are sent as the handlers made them, never
 * filtered or re-checked on the way out.
 */
export function installValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}
