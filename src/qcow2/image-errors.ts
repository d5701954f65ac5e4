/**
 * Error constructors for problems found in an image. Every message starts with
 * the file and names the field, so a one-line CLI error is enough to act on.
 */
import { ErrorCodes, ForkpointError, type ErrorCode } from '../errors.js';

function imageError(code: ErrorCode, path: string, problem: string, field?: string): ForkpointError {
  return new ForkpointError(code, `${path}: ${problem}`, field === undefined ? { path } : { path, field });
}

export const notQcow2 = (path: string, problem: string): ForkpointError =>
  imageError(ErrorCodes.NOT_QCOW2, path, problem);

export const truncated = (path: string, problem: string, field?: string): ForkpointError =>
  imageError(ErrorCodes.QCOW2_TRUNCATED, path, problem, field);

export const corrupt = (path: string, problem: string, field?: string): ForkpointError =>
  imageError(ErrorCodes.QCOW2_CORRUPT, path, problem, field);

export const unsupported = (path: string, problem: string, field?: string): ForkpointError =>
  imageError(ErrorCodes.QCOW2_UNSUPPORTED, path, problem, field);

/** "header field cluster_bits = 40 out of range 9..21" */
export function fieldOutOfRange(path: string, field: string, value: number | bigint, range: string): ForkpointError {
  return corrupt(path, `header field ${field} = ${value} out of range ${range}`, field);
}
