/**
 * SIGTERM that reaches `serve` while it is still starting (it owns the home
 * and its pipeline may be taking jobs, but it is not listening yet) is a
 * graceful stop like any other: exit 0, home released. It used to arrive
 * before the handler existed and kill the process mid-start.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { startServe, useCleanup } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-early-signal-');
const { killAtEnd } = useCleanup();

describe('serve: a signal during start-up', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s as soon as it owns the home: it finishes starting, then stops cleanly (exit 0)', { timeout: 60_000 }, async (signal) => {
    const home = join(tmp(), 'home');
    const serve = await startServe(home, inject('redisUrl')); // returns once serve owns the home
    killAtEnd(serve);
    serve.child.kill(signal);
    expect(await serve.exited, serve.stderr()).toEqual({ code: 0, signal: null });
    expect(existsSync(join(home, 'run', 'owner.json'))).toBe(false);
  });
});
