/**
 * Base disk ids: 8 Base62 characters from a cryptographic source (the
 * runtime's BaseDiskID). 62^8 ≈ 2.2e14, so a random collision in one home is
 * negligible, and the DB's primary key catches it anyway. `parseBaseId` admits
 * exactly that shape, so an id can be used in a file name with no escaping.
 */
import { randomBytes } from 'node:crypto';
import { ErrorCodes, ForkpointError } from './errors.js';

export const BASE_ID_LENGTH = 8;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE_ID_RE = /^[0-9A-Za-z]{8}$/;

/** Branded so a plain string cannot reach a file path without parsing. */
export type BaseId = string & { readonly __brand: 'BaseId' };

export function mintBaseId(): BaseId {
  let id = '';
  // Rejection sampling: 248 = 4 * 62 keeps every character equally likely.
  while (id.length < BASE_ID_LENGTH) {
    for (const byte of randomBytes(16)) {
      if (byte < 248) id += ALPHABET[byte % 62];
      if (id.length === BASE_ID_LENGTH) break;
    }
  }
  return id as BaseId;
}

export function isBaseId(value: unknown): value is BaseId {
  return typeof value === 'string' && BASE_ID_RE.test(value);
}

export function parseBaseId(value: unknown): BaseId {
  if (isBaseId(value)) return value;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 64)) : String(value);
  throw new ForkpointError(
    ErrorCodes.INVALID_ID,
    `invalid base id ${shown}: expected ${BASE_ID_LENGTH} characters of [0-9A-Za-z]`,
    { id: typeof value === 'string' ? value : undefined, field: 'baseId' },
  );
}
