/**
 * The Redis troubles an operator must act on reach serve's log at warn or
 * error level, through the same logger and adapter `forkpoint serve` uses
 * (createLogger + lineLogger, JSON lines to a stream here): a Redis that may
 * evict jobs is a warning at start-up; a lost connection under a running
 * pipeline is an error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, lineLogger } from '../../src/producers/http/logging.js';
import { resolveConfig } from '../../src/runtime/config.js';
import { resolveRedis } from '../../src/runtime/connect-redis.js';
import { Forkpoint } from '../../src/producers/client.js';
import { startTestPipeline, TEST_PREFIX } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-redis-log-');

/** serve's logger, writing JSON lines into an array. */
function capturedLog() {
  const stream = new PassThrough();
  const lines: { level: number; msg: string }[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const l of chunk.toString().split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as { level: number; msg: string });
  });
  return { log: lineLogger(createLogger({ pretty: false, level: 'info', destination: stream })), lines };
}

async function startRedis(socket: string, dir: string, policy: string): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no', '--maxmemory-policy', policy, '--dir', dir], { stdio: 'ignore' });
  while (!existsSync(socket) && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
  return child;
}

const stopped = (child: ChildProcess) => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));

const WARN = 40;
const ERROR = 50;

describe('Redis trouble in the service log', () => {
  it('the eviction-policy warning is at warn level', async () => {
    const dir = tmp();
    const socket = join(dir, 'lru.sock');
    const redis = await startRedis(socket, dir, 'allkeys-lru');
    try {
      const { log, lines } = capturedLog();
      await resolveRedis(resolveConfig({ home: dir, redis: `unix://${socket}` }, {}), join(dir, 'run'), log);
      const warning = lines.find((l) => l.msg.includes('maxmemory-policy=allkeys-lru'));
      expect(warning, JSON.stringify(lines)).toBeDefined();
      expect(warning!.level).toBe(WARN);
    } finally {
      redis.kill('SIGTERM');
      await stopped(redis);
    }
  });

  it('a lost connection under a running pipeline is logged at error level', { timeout: 60_000 }, async () => {
    // A short folder: a unix socket path has at most 107 bytes.
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'fpl-')));
    const socket = join(dir, 'r.sock');
    let redis = await startRedis(socket, dir, 'noeviction');
    const { log, lines } = capturedLog();
    const tp = await startTestPipeline(dir, { redisUrl: `unix://${socket}`, log });
    try {
      expect(lines.filter((l) => l.level >= WARN)).toEqual([]);
      redis.kill('SIGKILL');
      await stopped(redis);
      while (!lines.some((l) => /queue (worker )?error/.test(l.msg))) await new Promise((r) => setTimeout(r, 50));
      const errors = lines.filter((l) => /queue (worker )?error/.test(l.msg));
      expect(errors.every((l) => l.level === ERROR), JSON.stringify(errors)).toBe(true);
    } finally {
      // Back on the same socket; once a job runs again the workers have reconnected, and close cleanly.
      rmSync(socket, { force: true });
      redis = await startRedis(socket, dir, 'noeviction');
      const client = await Forkpoint.connect({ redisUrl: `unix://${socket}`, homeId: tp.homeId, prefix: TEST_PREFIX });
      await (await client.enqueue('sweep', {})).result();
      await client.close();
      await tp.close();
      redis.kill('SIGTERM');
      await stopped(redis);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
