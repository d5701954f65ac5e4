/** Messages between the pipeline and its DB writer thread. Plain data. */
import type { ErrorCode, ErrorDetails } from '../errors.js';
import type { WriterCommand } from '../db/types.js';

/** `open`: open the database now (the thread loads its modules first and waits for it). */
export type WriterRequest = { open: true } | { id: number; command: WriterCommand } | { close: true };

export type WriterReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { code: ErrorCode; message: string; details: ErrorDetails } };

export type WriterSignal = { ready: true } | { closed: true } | WriterReply;
