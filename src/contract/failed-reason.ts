/**
 * A failed job's reason, as BullMQ stores it: `E_CODE: message`, so a plain
 * BullMQ producer can switch on the code, then (when there are any) a second
 * line `details: {json}` so our client rebuilds the same ForkpointError, field
 * and all. Pure.
 */
import { ErrorCodes, ForkpointError, type ErrorCode, type ErrorDetails } from '../errors.js';

export function failedReason(err: ForkpointError): string {
  const details = Object.keys(err.details).length > 0 ? `\ndetails: ${JSON.stringify(err.details)}` : '';
  return `${err.code}: ${err.message}${details}`;
}

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

export function errorFromFailedReason(reason: string): ForkpointError {
  const m = /^(E_[A-Z0-9_]+): ([\s\S]*?)(?:\ndetails: (\{[\s\S]*\}))?$/.exec(reason);
  if (!m || !KNOWN_CODES.has(m[1]!)) return new ForkpointError(ErrorCodes.IO, `job failed: ${reason}`);
  let details: ErrorDetails = {};
  try {
    if (m[3]) details = JSON.parse(m[3]) as ErrorDetails;
  } catch {
    // a reason written by someone else: keep the code and message
  }
  return new ForkpointError(m[1] as ErrorCode, m[2]!, details);
}
