/**
 * The home's private redis-server keeps its data in the home (AOF): a server a
 * crashed owner left running on the home's socket is adopted as it is (its
 * queue intact), and a new one started on the same data reads back what the
 * last one kept.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { embeddedDataDir, startEmbeddedRedis } from '../../src/runtime/embedded-redis.js';
import { pingRedis } from '../../src/runtime/connect-redis.js';
import { parseRedisUrl } from '../../src/runtime/redis-url.js';
import { redisServersOn } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-embedded-');

async function withClient<T>(socket: string, f: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis({ path: socket, maxRetriesPerRequest: 1 });
  try {
    return await f(c);
  } finally {
    c.disconnect();
  }
}

describe('embedded redis-server', () => {
  it('adopts the leftover of a crashed owner (same server, its data intact) instead of stopping it', async () => {
    const runDir = join(tmp(), 'run');
    const first = await startEmbeddedRedis(runDir);
    const firstPid = Number(readFileSync(join(runDir, 'redis.pid'), 'utf8'));
    await withClient(first.socket, (c) => c.set('queued', 'batch-1'));
    // The owner "crashes": first.stop() is never called.
    const second = await startEmbeddedRedis(runDir);
    try {
      expect(second.adoptedPid).toBe(firstPid);
      expect(second.dataDir).toBe(embeddedDataDir(runDir));
      expect(second.socket).toBe(first.socket);
      expect(redisServersOn(second.socket)).toEqual([firstPid]);
      expect(await pingRedis(parseRedisUrl(second.url))).toBeNull();
      expect(await withClient(second.socket, (c) => c.get('queued'))).toBe('batch-1');
    } finally {
      await second.stop();
    }
    expect(redisServersOn(first.socket), 'stopped (this test process reaps it: only its zombie may be left)').toEqual([]);
  });

  it('a new server on the same data reads back what the last one kept (also after kill -9), in a private folder', async () => {
    const runDir = join(tmp(), 'run');
    const first = await startEmbeddedRedis(runDir);
    const firstPid = Number(readFileSync(join(runDir, 'redis.pid'), 'utf8'));
    await withClient(first.socket, (c) => c.set('queued', 'batch-2'));
    process.kill(firstPid, 'SIGKILL'); // the server itself dies, with its owner
    for (let i = 0; i < 100 && redisServersOn(first.socket).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    const second = await startEmbeddedRedis(runDir);
    try {
      expect(second.adoptedPid).toBeNull();
      expect(await withClient(second.socket, (c) => c.get('queued'))).toBe('batch-2');
      expect(statSync(embeddedDataDir(runDir)).mode & 0o777).toBe(0o700);
      expect(await withClient(second.socket, async (c) => ((await c.call('CONFIG', 'GET', 'appendfsync')) as string[])[1])).toBe('everysec');
    } finally {
      await second.stop();
    }
    expect(redisServersOn(second.socket)).toEqual([]);
  });
});
