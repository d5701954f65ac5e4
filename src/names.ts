/**
 * Box ids and snapshot names end up in file paths (`boxes/<box>/…`), so they
 * follow one rule (DESIGN.md "Names"): 1–255 bytes, not `.` or `..`, no
 * leading `.`, no `/`, `\` or NUL. We also refuse other control characters,
 * which no user means and which make logs lie, and strings that are not
 * well-formed Unicode.
 */
import { ErrorCodes, ForkpointError } from './errors.js';

export const MAX_NAME_BYTES = 255;

/** The source box id of the global rootfs cache; never a real box. */
export const GLOBAL_SOURCE = '__global__';

export type NameKind = 'box id' | 'snapshot name' | 'rootfs key' | 'name prefix';

/** Why `value` is not a valid name, or null when it is. Pure, for tests and schemas. */
export function nameProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length === 0) return 'must not be empty';
  // A lone surrogate has no UTF-8 form: stored as one byte string, its folder would get another (U+FFFD).
  if (/\p{Cs}/u.test(value)) return 'must be well-formed Unicode (it has a lone surrogate)';
  if (Buffer.byteLength(value, 'utf8') > MAX_NAME_BYTES) return `must be at most ${MAX_NAME_BYTES} bytes`;
  if (value === '.' || value === '..') return 'must not be "." or ".."';
  if (value.startsWith('.')) return 'must not start with "."';
  if (/[/\\]/.test(value)) return 'must not contain "/" or "\\"';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'must not contain NUL or control characters';
  return null;
}

export function parseName(value: unknown, kind: NameKind): string {
  const problem = nameProblem(value);
  if (problem === null) return value as string;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 64)) : String(value);
  throw new ForkpointError(ErrorCodes.INVALID_NAME, `invalid ${kind} ${shown}: ${problem}`, {
    field: kind,
    value: typeof value === 'string' ? value : undefined,
  });
}

export const parseBoxId = (value: unknown): string => {
  const id = parseName(value, 'box id');
  if (id === GLOBAL_SOURCE) {
    throw new ForkpointError(ErrorCodes.INVALID_NAME, `invalid box id "${GLOBAL_SOURCE}": reserved for the rootfs cache`, {
      field: 'box id',
      value: id,
    });
  }
  return id;
};

export const parseSnapshotName = (value: unknown): string => parseName(value, 'snapshot name');
