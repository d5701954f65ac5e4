/**
 * The one error type of forkpoint. Every failure a caller can act on is a
 * ForkpointError with a stable `code`; the CLI prints `message` and exits with
 * `exitCode`, the HTTP API maps `code` to a status, and BullMQ jobs fail at once
 * (no retry) unless `retryable` is set. Make errors here, not ad hoc.
 */
export const ErrorCodes = {
  // bad input: the caller must change something; retrying cannot help
  INVALID_ID: 'E_INVALID_ID',
  INVALID_NAME: 'E_INVALID_NAME',
  INVALID_ARGUMENT: 'E_INVALID_ARGUMENT',
  BAD_PAYLOAD: 'E_BAD_PAYLOAD',
  NOT_FOUND: 'E_NOT_FOUND',
  NOT_A_FILE: 'E_NOT_A_FILE',
  ALREADY_EXISTS: 'E_ALREADY_EXISTS',
  // qcow2 format problems
  NOT_QCOW2: 'E_NOT_QCOW2',
  QCOW2_TRUNCATED: 'E_QCOW2_TRUNCATED',
  QCOW2_CORRUPT: 'E_QCOW2_CORRUPT',
  QCOW2_UNSUPPORTED: 'E_QCOW2_UNSUPPORTED',
  BACKING_LOOP: 'E_BACKING_LOOP',
  CHAIN_TOO_DEEP: 'E_CHAIN_TOO_DEEP',
  IMAGE_IN_USE: 'E_IMAGE_IN_USE',
  // records and lifecycle
  UNKNOWN_BASE: 'E_UNKNOWN_BASE',
  UNKNOWN_BOX: 'E_UNKNOWN_BOX',
  UNKNOWN_SNAPSHOT: 'E_UNKNOWN_SNAPSHOT',
  BASE_DELETING: 'E_BASE_DELETING',
  HAS_DEPENDENTS: 'E_HAS_DEPENDENTS',
  CONFLICT: 'E_CONFLICT',
  // environment
  DB_NEWER: 'E_DB_NEWER',
  DB_INVALID: 'E_DB_INVALID',
  /** The home has bases or boxes but no database (missing or empty file): refused, never re-initialised over its files. */
  DB_MISSING: 'E_DB_MISSING',
  HOME_LOCKED: 'E_HOME_LOCKED',
  REDIS_UNAVAILABLE: 'E_REDIS_UNAVAILABLE',
  NO_SPACE: 'E_NO_SPACE',
  IO: 'E_IO',
  SHUTTING_DOWN: 'E_SHUTTING_DOWN',
  // the HTTP API: a token is configured and the request did not carry it
  UNAUTHORIZED: 'E_UNAUTHORIZED',
  FORBIDDEN: 'E_FORBIDDEN',
  // the HTTP API: every slot for long-lived requests (event streams, ?wait=1) is taken; retry later
  BUSY: 'E_BUSY',
  // waiting on a job: it vanished from Redis before it ended (Redis restarted empty, evicted it, someone removed it)
  JOB_LOST: 'E_JOB_LOST',
  // waiting on a job: it did not end within the time the caller gave (the job itself is not cancelled)
  TIMEOUT: 'E_TIMEOUT',
  // a job stopped because someone cancelled it (`forkpoint jobs cancel`): what it made stays, the rest was undone
  CANCELLED: 'E_CANCELLED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Codes a retry may fix (the world changes, the input does not need to). */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.REDIS_UNAVAILABLE,
  ErrorCodes.IO,
  ErrorCodes.SHUTTING_DOWN,
  ErrorCodes.IMAGE_IN_USE,
  ErrorCodes.BUSY,
  ErrorCodes.JOB_LOST,
  ErrorCodes.TIMEOUT,
]);

/** HTTP status per code, used by the API layer; anything absent is a 500. */
const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  E_INVALID_ID: 400,
  E_INVALID_NAME: 400,
  E_INVALID_ARGUMENT: 400,
  E_BAD_PAYLOAD: 400,
  E_NOT_QCOW2: 422,
  E_QCOW2_TRUNCATED: 422,
  E_QCOW2_CORRUPT: 422,
  E_QCOW2_UNSUPPORTED: 422,
  E_BACKING_LOOP: 422,
  E_CHAIN_TOO_DEEP: 422,
  E_NOT_FOUND: 404,
  E_NOT_A_FILE: 400,
  E_UNKNOWN_BASE: 404,
  E_UNKNOWN_BOX: 404,
  E_UNKNOWN_SNAPSHOT: 404,
  E_ALREADY_EXISTS: 409,
  E_BASE_DELETING: 409,
  E_HAS_DEPENDENTS: 409,
  E_CONFLICT: 409,
  E_IMAGE_IN_USE: 409,
  E_HOME_LOCKED: 409,
  E_REDIS_UNAVAILABLE: 503,
  E_SHUTTING_DOWN: 503,
  E_BUSY: 503,
  E_JOB_LOST: 503,
  E_TIMEOUT: 503,
  // Cancelled on request: not a fault, not bad input; the CLI gives it its own exit code (4, below).
  E_CANCELLED: 409,
  E_NO_SPACE: 507,
  // The home's database is unusable (not SQLite, damaged, or gone while the home has files): a person
  // restores it or rebuilds the records (`forkpoint check --rebuild`); no retry can help. CLI exit 1.
  E_DB_INVALID: 500,
  E_DB_MISSING: 500,
  E_UNAUTHORIZED: 401,
  E_FORBIDDEN: 403,
};

export interface ErrorDetails {
  /** The file, id or field the error is about, for scripts (`--json`). */
  path?: string;
  field?: string;
  id?: string;
  [key: string]: unknown;
}

export class ForkpointError extends Error {
  override readonly name = 'ForkpointError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code] ?? 500;
  }

  /** Process exit code for the CLI: 2 for bad input, 3 for a busy/locked resource, 4 for a cancelled job, 1 otherwise. */
  get exitCode(): number {
    // A script must tell "someone cancelled it" from a conflict it could retry (3).
    if (this.code === ErrorCodes.CANCELLED) return 4;
    const status = this.httpStatus;
    if (status === 409 || status === 503) return 3;
    if (status >= 400 && status < 500) return 2;
    return 1;
  }

  toJSON(): { code: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }

  /** Rebuild an error that crossed a thread or a queue as plain data. */
  static fromJSON(data: { code: ErrorCode; message: string; details?: ErrorDetails }): ForkpointError {
    return new ForkpointError(data.code, data.message, data.details ?? {});
  }
}

export function isForkpointError(err: unknown, code?: ErrorCode): err is ForkpointError {
  return err instanceof ForkpointError && (code === undefined || err.code === code);
}

/**
 * Turn a Node fs error into a ForkpointError that names the path. Anything
 * that is not an fs error is returned unchanged.
 */
export function fromFsError(err: unknown, path: string, action: string): unknown {
  if (err instanceof ForkpointError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const what = `${action} ${path}`;
  switch (code) {
    case 'ENOENT':
      return new ForkpointError(ErrorCodes.NOT_FOUND, `${what}: no such file or directory`, { path }, { cause: err });
    case 'ENOTDIR':
      // A file where the path needs a folder: the path names nothing, as for ENOENT.
      return new ForkpointError(ErrorCodes.NOT_FOUND, `${what}: no such file or directory (a part of the path is a file, not a folder)`, { path }, { cause: err });
    case 'EISDIR':
      return new ForkpointError(ErrorCodes.NOT_A_FILE, `${what}: is a directory, not an image file`, { path }, { cause: err });
    case 'EEXIST':
      return new ForkpointError(ErrorCodes.ALREADY_EXISTS, `${what}: file already exists`, { path }, { cause: err });
    case 'ENOSPC':
    case 'EDQUOT':
      return new ForkpointError(ErrorCodes.NO_SPACE, `${what}: no space left on device`, { path }, { cause: err });
    case undefined:
      return err;
    default:
      return new ForkpointError(ErrorCodes.IO, `${what}: ${(err as Error).message}`, { path, errno: code }, { cause: err });
  }
}
