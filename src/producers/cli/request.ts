/**
 * One mutating request of a CLI command, run the way every such command runs
 * it: under the op of its request (pending-requests.ts: the same command run
 * again after a crash or a Ctrl-C is the same request and joins or resumes
 * its job; `--op` names it explicitly), noted with the session (so a stopped
 * wait says which job goes on), waited for with the progress the flags ask for.
 */
import type { JobHandle } from '../client.js';
import { InvalidArgumentError } from 'commander';
import { forgetRequest, requestOp } from './pending-requests.js';
import { progressMode, withProgress } from './progress.js';
import type { GlobalFlags, Session } from './session.js';

export interface RequestSpec<T> {
  /** The command as typed, and the arguments that make it this request (what a rerun must repeat). */
  command: string;
  args: unknown;
  /** `--op`, if given. */
  op?: string;
  /** The progress label when the job reports no phase. */
  label: string;
  enqueue(op: string): Promise<JobHandle<T>>;
}

/** `--op OP` (commander's argParser): checked here, so a bad one is a usage error (exit 2), not a payload's. */
export function parseOp(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) throw new InvalidArgumentError('expected 1-64 characters of A-Z a-z 0-9 _ -');
  return value;
}

export const OP_HELP = 'the operation id (1-64 of [A-Za-z0-9_-]): the same op is the same request; default: the same command run again after it did not finish';

export interface Request {
  op: string;
  /** The op was minted by an earlier run of the same command that did not see its end. */
  resumed: boolean;
  /** The request succeeded: the same command is a new request from now on. */
  done(): void;
}

/** The op of this command's request: `--op`, or the one an unfinished earlier run left, or a new one. */
export function beginRequest(s: Session, command: string, args: unknown, opFlag: string | undefined): Request {
  if (opFlag !== undefined) return { op: opFlag, resumed: false, done: () => undefined };
  const request = requestOp(s.layout.runDir, command, args);
  if (request.resumed && !s.quiet) process.stderr.write(`forkpoint: resuming the unfinished request of an earlier run of this command (op ${request.op})\n`);
  return { op: request.op, resumed: request.resumed, done: () => forgetRequest(s.layout.runDir, request.key) };
}

/** Wait for a job the command queued: noted with the session (named if the wait is stopped), with progress as the flags say. */
export async function waitForJob<T>(s: Session, flags: GlobalFlags, job: JobHandle<T>, label: string): Promise<T> {
  const { queueName, queueRoleOf } = await import('../../contract/queues.js'); // lazily: it loads the payload schemas (zod)
  s.noteJob({ id: job.id, queue: queueName(s.homeId, queueRoleOf(job.name)), rejoinable: true });
  return withProgress(job, label, progressMode(flags));
}

export async function runRequest<T>(s: Session, flags: GlobalFlags, spec: RequestSpec<T>): Promise<T> {
  const request = beginRequest(s, spec.command, spec.args, spec.op);
  const done = await waitForJob(s, flags, await spec.enqueue(request.op), spec.label);
  request.done();
  return done;
}
