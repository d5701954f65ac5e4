/**
 * Request validation: zod schemas for params, query strings and bodies, and
 * one function that turns the first failed check into a ForkpointError naming
 * the field. Names (box ids, snapshot names) use the same rule as the job
 * payloads (`nameProblem`), so the API refuses a path trick before anything
 * is queued.
 */
import { z } from 'zod';
import { fieldError } from '../../contract/fields.js';

export { baseIdField, boxIdField, nameField, opField, snapshotNameField } from '../../contract/fields.js';

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
