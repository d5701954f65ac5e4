/**
 * Structured logs: pino, JSON lines (for collectors) unless stderr is a
 * terminal, then pino-pretty. Lines about a job carry its ids — jobId, op,
 * baseId, boxId — as fields, so one grep finds everything about a box.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogLine } from '../../runtime/log-line.js';
import type { JobFinishedEvent } from '../../workers/pipeline.js';

export interface LoggerOptions {
  pretty?: boolean;
  level?: string;
  /** Where lines go (default: stderr). */
  destination?: NodeJS.WritableStream;
}

export function createLogger(o: LoggerOptions = {}): Logger {
  const level = o.level ?? process.env.FORKPOINT_LOG_LEVEL ?? 'info';
  const usePretty = o.pretty ?? process.stderr.isTTY === true;
  const base = { name: 'forkpoint' };
  if (usePretty) {
    // Synchronous, in this thread: no transport worker to outlive a SIGTERM.
    return pino({ level, base }, pretty({ destination: o.destination ?? 2, sync: true, colorize: true, ignore: 'pid,hostname,name' }));
  }
  return pino({ level, base }, o.destination ?? pino.destination({ dest: 2, sync: true }));
}

/** The pipeline's and the service's lines (runtime/log-line.ts) into `log`, each at its level (info when none). */
export function lineLogger(log: Logger): LogLine {
  return (line, level = 'info') => log[level](line);
}

/** The ids a finished job concerns, from its id (`<job>-<op>`, `gc-<base>`) and its result. */
export function jobFields(e: JobFinishedEvent): Record<string, unknown> {
  const fields: Record<string, unknown> = { jobId: e.jobId, job: e.name, queue: e.queue };
  if (e.name !== 'gc' && e.jobId.startsWith(`${e.name}-`)) fields.op = e.jobId.slice(e.name.length + 1);
  const r = (e.result ?? {}) as Record<string, unknown>;
  // A gc job's base is in its payload (the service's own runs have ids `gc-<base>-<run>`).
  const baseId = r.baseId ?? (e.data as { baseId?: unknown } | undefined)?.baseId ?? (e.name === 'gc' && e.jobId.startsWith('gc-') ? e.jobId.slice(3) : undefined);
  if (typeof baseId === 'string') fields.baseId = baseId;
  const boxId = r.boxId ?? r.source ?? r.target;
  if (typeof boxId === 'string') fields.boxId = boxId;
  if (Array.isArray(r.targets)) fields.targets = r.targets.length;
  return fields;
}

export function logJobFinished(log: Logger, e: JobFinishedEvent): void {
  const child = log.child(jobFields(e));
  const ms = Math.round(e.durationMs);
  if (e.ok) child.info({ durationMs: ms }, `${e.name} done`);
  else child.warn({ durationMs: ms, code: e.error?.code }, `${e.name} failed: ${e.error?.message ?? 'unknown error'}`);
}
