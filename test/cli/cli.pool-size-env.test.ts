/**
 * $FORKPOINT_POOL_SIZE must be an integer from 1 to 256, and
 * $FORKPOINT_CHILDREN_FLUSH auto, syncfs or fsync: anything else is a
 * bad-input refusal (exit 2) naming the variable, before Redis or the
 * pipeline start (so before anything is made).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { cliEnv, runCli } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-pool-');

describe('cli: a bad $FORKPOINT_POOL_SIZE', () => {
  for (const value of ['-1', '0.5']) {
    it(`FORKPOINT_POOL_SIZE=${value} is refused as bad input naming the variable`, async () => {
      const home = join(tmp(), 'home');
      const r = await runCli(['--home', home, '--redis', inject('redisUrl'), 'box', 'create', 'b', '--size', '1M'], { env: cliEnv({ FORKPOINT_POOL_SIZE: value }) });
      expect(r.stderr).not.toMatch(/internal error/);
      expect(r.stderr).toMatch(/FORKPOINT_POOL_SIZE/);
      expect(r.status, r.stderr).toBe(2);
    });
  }
});

describe('cli: a bad $FORKPOINT_CHILDREN_FLUSH', () => {
  it('is refused as bad input naming the variable, and nothing is made', async () => {
    const home = join(tmp(), 'home');
    const r = await runCli(['--home', home, '--redis', inject('redisUrl'), 'box', 'create', 'b', '--size', '1M'], { env: cliEnv({ FORKPOINT_CHILDREN_FLUSH: 'sync' }) });
    expect(r.stderr).toMatch(/FORKPOINT_CHILDREN_FLUSH must be auto, syncfs or fsync, got "sync"/);
    expect(r.status, r.stderr).toBe(2);
    expect(existsSync(join(home, 'boxes', 'b'))).toBe(false);
  });
});
