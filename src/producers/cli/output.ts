/**
 * How the CLI reports: results as JSON (`--json`) or as text, and errors as one
 * line on stderr with the ForkpointError's exit code. Commands return data and
 * a text renderer; they never call process.exit themselves.
 */
import { ForkpointError, isForkpointError } from '../../errors.js';
import { redisUnavailableFrom } from '../../runtime/redis-refusal.js';

export interface OutputOptions {
  json?: boolean;
}

export function printResult<T>(result: T, opts: OutputOptions, toText: (r: T) => string): void {
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    const text = toText(result);
    if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}

/** Print an error the way scripts and people both can use; returns the exit code. */
export function reportError(raw: unknown, opts: OutputOptions): number {
  const err = redisUnavailableFrom(raw); // a Redis that refuses writes (its disk full) is said in one line too
  if (isForkpointError(err)) {
    if (opts.json) process.stdout.write(`${JSON.stringify({ error: err.toJSON() }, null, 2)}\n`);
    process.stderr.write(`forkpoint: ${err.message} [${err.code}]\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`forkpoint: internal error: ${message}\n`);
  return 1;
}

/** Wrap a command action: run it, print its error, set the exit code. */
export function action<A extends unknown[]>(
  run: (...args: A) => Promise<void> | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (err) {
      // The last argument commander passes is the Command; its optsWithGlobals carry --json.
      const cmd = args[args.length - 1] as { optsWithGlobals?: () => OutputOptions } | undefined;
      const opts = cmd?.optsWithGlobals?.() ?? {};
      process.exitCode = reportError(err, opts);
    }
  };
}

/**
 * Resolves once everything written to stdout and stderr has left the process.
 * Into a pipe whose reader is slower than us, writes past the pipe's buffer
 * (64 KiB) are queued in Node; exiting then drops them, with exit status 0.
 * An empty write's callback runs after every write before it (they are
 * ordered), so waiting on one per stream is enough. Call it before any exit.
 */
export function flushStdio(): Promise<void> {
  const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => (stream.destroyed || !stream.writable ? resolve() : stream.write('', () => resolve())));
  return Promise.all([flushed(process.stdout), flushed(process.stderr)]).then(() => undefined);
}

export { ForkpointError };
