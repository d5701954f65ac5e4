/**
 * A CLI command waiting on `forkpoint serve` ends when the service's Redis dies, instead of
 * waiting for ever: serve lives on (reconnecting), so the home lock says nothing, and the
 * client's reads of the job wait in ioredis' offline queue. The command's watch on the service
 * pings its Redis; past a bound without an answer it ends with E_REDIS_UNAVAILABLE (exit 3) naming
 * the job and how to follow it, and its client's close() returns although Redis is gone.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startEmbeddedRedis } from '../../src/runtime/embedded-redis.js';
import { runCli, startServe, useCleanup, waitFor, type CliRun } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-wait-redis-gone-');
const { defer, killAtEnd } = useCleanup();

describe('cli: the Redis of the serve a command waits on dies', () => {
  it('a clone waiting through serve: Redis killed -9, the command exits 3 naming the job and how to follow it', { timeout: 180_000 }, async () => {
    const dir = tmp();
    // A redis-server of this test's own (the shared one must stay up for the other tests).
    const redis = await startEmbeddedRedis(join(dir, 'redis-run'));
    defer(() => redis.stop().catch(() => undefined));
    const home = join(dir, 'home');
    const created = await runCli(['--home', home, '--redis', redis.url, 'box', 'create', 'src', '--size', '1M']);
    expect(created.status, created.stderr).toBe(0);
    const serve = killAtEnd(await startServe(home, redis.url, ['--grace', '1']));

    const cliDone = runCli(['--home', home, '--redis', redis.url, 'clone', 'src', '--count', '2000'], { timeoutMs: 150_000 });
    await waitFor('the clone to be running', () => readdirSync(join(home, 'boxes')).length > 50, 60_000, 5);
    process.kill(redis.pid, 'SIGKILL');

    const r: CliRun = await cliDone;
    expect(r.signal, `the CLI was still waiting after 150 s\ncli: ${r.stderr}\nserve: ${serve.stderr().slice(-2000)}`).toBeNull();
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(
      new RegExp(
        `the Redis of forkpoint serve \\(pid ${serve.pid}\\) at ${redis.url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} stopped answering .* while this command waited; ` +
          'job (\\S+) \\(queue \\S+\\) stays in that Redis .*: follow it with `forkpoint --home \\S+ jobs wait \\1` once Redis answers; running the same command again joins it \\[E_REDIS_UNAVAILABLE\\]',
      ),
    );
    expect(serve.child.exitCode, 'serve itself goes on (reconnecting)').toBeNull();
  });
});
