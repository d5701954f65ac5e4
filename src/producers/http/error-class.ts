/**
 * Whose failure it is, from an error's stable code: `user` when the request was
 * wrong or conflicts with what exists (bad name, unknown box, already exists:
 * the HTTP 4xx codes), `fault` when the machine failed it (E_IO, E_NO_SPACE,
 * a damaged database: the 5xx codes, and any code we do not know). Two values,
 * so metrics can carry it as a label and the dashboard can show it at a glance:
 * an operator pages on faults, not on callers' typos.
 */
import { ForkpointError, type ErrorCode } from '../../errors.js';

export type ErrorClass = 'user' | 'fault';

export function errorClass(code: string | undefined): ErrorClass {
  if (code === undefined || !/^E_[A-Z0-9_]+$/.test(code)) return 'fault';
  const status = new ForkpointError(code as ErrorCode, '').httpStatus;
  return status >= 400 && status < 500 ? 'user' : 'fault';
}
