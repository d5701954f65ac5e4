/**
 * A CLI command that started a private redis-server (no Redis given) and is
 * stopped by SIGTERM or SIGINT sent to it alone (`timeout`,
 * a cancelled CI job, `kill`) stops its pipeline and that redis-server, says
 * so, and then ends as the signal would have: nothing it started outlives it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT, cliEnv, runCli, waitFor, redisServersOn } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-sig-');
const leftovers: number[] = [];
afterEach(() => {
  for (const pid of leftovers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});


describe('cli: a command stopped by a signal', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} stops its private redis-server, and the command ends by that signal`, { timeout: 90_000 }, async () => {
      const home = join(tmp(), 'home');
      const env = cliEnv({ REDIS_URL: undefined });
      const made = await runCli(['--home', home, 'box', 'create', 'src', '--size', '1M'], { env });
      expect(made.status, made.stderr).toBe(0);
      expect(made.stderr).toMatch(/started a private redis-server/);
      const socket = join(home, 'run', 'redis.sock');

      const child = spawn(process.execPath, [BIN, '--home', home, 'clone', 'src', '--count', '10000'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      await waitFor('the command to start its redis-server', () => /started a private redis-server/.test(stderr) || child.exitCode !== null, 60_000, 10);
      expect(child.exitCode, stderr).toBeNull();
      child.kill(signal);
      await exited;
      expect(child.signalCode, stderr).toBe(signal);
      expect(stderr).toMatch(new RegExp(`interrupted by ${signal}; stopped the pipeline and its private redis-server`));
      const left = redisServersOn(socket);
      leftovers.push(...left);
      expect(left, `redis-server still running on ${socket} after the command died`).toEqual([]);
    });
  }
});
