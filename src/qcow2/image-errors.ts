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

/** Which table entry an error is about: "L2 table at 0x40000 (L1 entry 0), entry 5 (guest offset 0x50000)". */
export interface TableEntry {
  table: 'L1' | 'L2';
  /** Index of the entry in its table. */
  entry: number;
  guestOffset: number;
  /** For L2 entries: where the L2 table is and which L1 entry points at it. */
  l2TableOffset?: number;
  l1Entry?: number;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

function describeEntry(e: TableEntry): string {
  const table = e.table === 'L1' ? 'L1 table' : `L2 table at ${hex(e.l2TableOffset ?? 0)} (L1 entry ${e.l1Entry ?? 0}),`;
  return `${table} entry ${e.entry} (guest offset ${hex(e.guestOffset)})`;
}

/** A table entry used for reading that qemu (or qemu-img check) rejects; details name the table and the index. */
export function badTableEntry(code: ErrorCode, path: string, e: TableEntry, problem: string): ForkpointError {
  return new ForkpointError(code, `${path}: ${describeEntry(e)}: ${problem}`, {
    path,
    field: e.table === 'L1' ? 'l1_table' : 'l2_table',
    ...e,
  });
}
