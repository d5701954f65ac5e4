/**
 * The README's "complete producer" is run as printed: the block is cut out of
 * README.md, saved as producer.mjs beside a node_modules that holds bullmq,
 * and run with `forkpoint` on PATH against a serve on its home's private
 * redis-server. It must print the clone's result and exit by itself, and the
 * boxes it asked for must exist.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT, cliEnv, runCli, startServe, useCleanup, useRedisServerCleanup } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-readme-producer-');
// Before useCleanup: after-each hooks run last-registered first, and the Redis must go after serve.
const killRedisOn = useRedisServerCleanup();
const { killAtEnd } = useCleanup();

/** The fenced js block that starts with `// producer.mjs`. */
function readmeProducer(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /```js\n(\/\/ producer\.mjs[^\n]*\n[\s\S]*?)```/.exec(readme);
  expect(block, 'README.md has no ```js block starting with // producer.mjs').not.toBeNull();
  return block![1]!;
}

describe('the README producer', () => {
  it('runs as printed: clones web into w1 and w2 through the service and prints the result', { timeout: 90_000 }, async () => {
    const dir = tmp();
    const home = join(dir, 'home');
    killRedisOn(join(home, 'run', 'redis.sock')); // serve killed at the end leaves its private redis-server running
    killAtEnd(await startServe(home, null));
    const made = await runCli(['--home', home, 'box', 'create', 'web', '--size', '8M']);
    expect(made.status, made.stderr).toBe(0);

    const app = join(dir, 'app');
    const path = join(dir, 'bin');
    mkdirSync(app);
    mkdirSync(path);
    writeFileSync(join(app, 'producer.mjs'), readmeProducer());
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(app, 'node_modules'));
    symlinkSync(BIN, join(path, 'forkpoint'));

    const env = cliEnv({ FORKPOINT_HOME: home, PATH: `${path}:${process.env.PATH}` });
    const run = spawnSync(process.execPath, ['producer.mjs'], { cwd: app, env, encoding: 'utf8', timeout: 60_000 });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/targets: \[ 'w1', 'w2' \]/);
    expect(run.stdout).toMatch(/baseId: '\w+'/);

    const boxes = await runCli(['--home', home, '--json', 'box', 'ls']);
    expect(boxes.status, boxes.stderr).toBe(0);
    const ids = (JSON.parse(boxes.stdout) as { boxId?: string; id?: string }[]).map((b) => b.boxId ?? b.id);
    expect(ids).toEqual(expect.arrayContaining(['web', 'w1', 'w2']));
  });
});
