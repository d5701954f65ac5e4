/**
 * The fields every producer validates — box ids, snapshot names, base ids,
 * op ids, server paths — as zod schemas, and the one translation of a failed
 * check into a ForkpointError naming the field. Job payloads (jobs.ts) and
 * HTTP requests (http/validate.ts) are built from these, so a name refused
 * by one is refused by the other, with the same code.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { ErrorCodes, ForkpointError, type ErrorCode } from '../errors.js';
import { BASE_ID_LENGTH } from '../ids.js';
import { GLOBAL_SOURCE, MAX_NAME_BYTES, nameProblem } from '../names.js';

/** Issue params say which error code a failed check maps to (E_BAD_PAYLOAD when absent). */
const NAME = { errorCode: ErrorCodes.INVALID_NAME };
const ID = { errorCode: ErrorCodes.INVALID_ID };

/**
 * The name rule (nameProblem) as JSON Schema says it, for producers that check before they send:
 * the pattern is exact but for the length, which JSON Schema counts in characters, not UTF-8 bytes
 * (so maxLength is the bound for ASCII names; the description says bytes).
 */
const NAME_PATTERN = String.raw`^[^./\\\u0000-\u001f\u007f][^/\\\u0000-\u001f\u007f]*$`;
const nameJsonSchema = (what: string) => ({
  pattern: NAME_PATTERN,
  minLength: 1,
  maxLength: MAX_NAME_BYTES,
  description: `${what}: 1-${MAX_NAME_BYTES} bytes of UTF-8, not starting with "."; no "/", "\\", NUL or control characters${what === 'box id' ? `; not "${GLOBAL_SOURCE}"` : ''}`,
  ...(what === 'box id' ? { not: { const: GLOBAL_SOURCE } } : {}),
});

/** What is wrong with `value` as a `what` (nameProblem, and the box id the rootfs cache keeps), or null. */
function nameIssue(what: string, value: string): string | null {
  const problem = nameProblem(value);
  if (problem) return `${what} ${problem}`;
  return what === 'box id' && value === GLOBAL_SOURCE ? `box id "${GLOBAL_SOURCE}" is reserved for the rootfs cache` : null;
}

export const nameField = (what: string) =>
  z
    .string()
    .superRefine((value, ctx) => {
      const issue = nameIssue(what, value);
      if (issue) ctx.addIssue({ code: 'custom', message: issue, params: NAME });
    })
    .meta(nameJsonSchema(what));

export const boxIdField = nameField('box id');

/**
 * z.array(boxIdField).min(min).max(max), checked in one pass: the same issues at the same paths,
 * without a zod check per element (a 2,000-box clone's payload took ~11 ms to parse that way, in
 * the command and again in the worker).
 */
export const boxIdListField = (min: number, max: number) =>
  z
    .array(z.string())
    .min(min)
    .max(max)
    .superRefine((ids, ctx) => {
      ids.forEach((value, i) => {
        const issue = nameIssue('box id', value);
        if (issue) ctx.addIssue({ code: 'custom', message: issue, params: NAME, path: [i] });
      });
    })
    .meta({ items: { type: 'string', ...nameJsonSchema('box id') } });

export const snapshotNameField = nameField('snapshot name');
export const rootfsKeyField = nameField('rootfs key');
export const uploadNameField = nameField('upload name');

const BASE_ID_PATTERN = `^[0-9A-Za-z]{${BASE_ID_LENGTH}}$`;
export const baseIdField = z
  .string()
  .superRefine((value, ctx) => {
    if (!new RegExp(BASE_ID_PATTERN).test(value)) {
      ctx.addIssue({ code: 'custom', message: `base id must be ${BASE_ID_LENGTH} characters of [0-9A-Za-z]`, params: ID });
    }
  })
  .meta({ pattern: BASE_ID_PATTERN, description: `base id: ${BASE_ID_LENGTH} characters of [0-9A-Za-z]` });

/** Operation ids make a request idempotent: a retry re-uses its op and joins (or replays) the first. */
export const opField = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'op must be 1-64 characters of [A-Za-z0-9_-]');

/** A file named by a caller, on the machine that runs the job. */
export const serverPathField = z
  .string()
  .refine((p) => p.startsWith('/') && !p.includes('\0'), 'must be an absolute path on the server')
  .refine((p) => posix.normalize(p) === p && (p === '/' || !p.endsWith('/')), 'must be a normalised path (no "..", "." or "//")')
  .meta({ pattern: '^/', description: 'an absolute, normalised path on the server (no "..", "." or "//"; no trailing "/"), inside its import folders' });

/** The first failed check of a parse, as the ForkpointError that names its field. */
export function fieldError(error: z.ZodError, what: string, extra: Record<string, unknown> = {}, wholeValue = '(payload)'): ForkpointError {
  const issue = error.issues[0]!;
  const field = issue.path.map(String).join('.') || wholeValue;
  const code = (issue as { params?: { errorCode?: ErrorCode } }).params?.errorCode ?? ErrorCodes.BAD_PAYLOAD;
  return new ForkpointError(code, `${what}: ${field}: ${issue.message}`, { field, ...extra });
}
