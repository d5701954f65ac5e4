/** A redis-server left running by a crashed owner of the home is stopped when the next owner starts its own. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startEmbeddedRedis } from '../../src/runtime/embedded-redis.js';
import { pingRedis } from '../../src/runtime/connect-redis.js';
import { parseRedisUrl } from '../../src/runtime/redis-url.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-embedded-');

describe('embedded redis-server', () => {
  it('stops the leftover of a crashed owner (found by its pid file) and serves on the same socket', async () => {
    const runDir = join(tmp(), 'run');
    const first = await startEmbeddedRedis(runDir);
    const firstPid = Number(readFileSync(join(runDir, 'redis.pid'), 'utf8'));
    expect(existsSync(`/proc/${firstPid}`)).toBe(true);
    // The owner "crashes": first.stop() is never called.
    const second = await startEmbeddedRedis(runDir);
    try {
      expect(existsSync(`/proc/${firstPid}`)).toBe(false);
      expect(Number(readFileSync(join(runDir, 'redis.pid'), 'utf8'))).not.toBe(firstPid);
      expect(await pingRedis(parseRedisUrl(second.url))).toBeNull();
      expect(second.socket).toBe(first.socket);
    } finally {
      await second.stop();
    }
  });
});
