/**
 * Request validation: zod schemas for params, query strings and bodies, and
 * one function that turns the first failed check into a ForkpointError naming
 * the field. Names (box ids, snapshot names) use the same rule as the job
 * payloads (`nameProblem`), so the API refuses a path trick before anything
 * is queued.
 */
import { z } from 'zod';
import { ErrorCodes, ForkpointError, type ErrorCode } from '../../errors.js';
import { BASE_ID_LENGTH } from '../../ids.js';
import { GLOBAL_SOURCE, nameProblem } from '../../names.js';

/** Issue params tell which error code a failed check maps to. */
const NAME = { errorCode: ErrorCodes.INVALID_NAME };
const ID = { errorCode: ErrorCodes.INVALID_ID };

export const nameField = (what: string) =>
  z.string().superRefine((value, ctx) => {
    const problem = nameProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: `${what} ${problem}`, params: NAME });
    else if (what === 'box id' && value === GLOBAL_SOURCE) {
      ctx.addIssue({ code: 'custom', message: `box id "${GLOBAL_SOURCE}" is reserved for the rootfs cache`, params: NAME });
    }
  });

export const boxIdField = nameField('box id');
export const snapshotNameField = nameField('snapshot name');
export const baseIdField = z.string().superRefine((value, ctx) => {
  if (!new RegExp(`^[0-9A-Za-z]{${BASE_ID_LENGTH}}$`).test(value)) {
    ctx.addIssue({ code: 'custom', message: `base id must be ${BASE_ID_LENGTH} characters of [0-9A-Za-z]`, params: ID });
  }
});
/** An idempotency key a caller may pass to make a retried request collapse into the first job. */
export const opField = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'op must be 1-64 characters of [A-Za-z0-9_-]');
/** Query flags: `?wait=1`, `?force=true`. */
export const flagField = z
  .enum(['1', '0', 'true', 'false', ''])
  .optional()
  .transform((v) => v === '1' || v === 'true' || v === '');

export type Where = 'params' | 'query' | 'body';

export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, where: Where): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.map(String).join('.') || `(${where})`;
  const params = (issue as { params?: { errorCode?: ErrorCode } }).params;
  const code = params?.errorCode ?? ErrorCodes.BAD_PAYLOAD;
  throw new ForkpointError(code, `bad request ${where}: ${field}: ${issue.message}`, { field, in: where });
}
