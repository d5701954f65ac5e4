/** Finding Redis: URL parsing, the eviction-policy warning, an explicit URL that does not answer. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { resolveConfig } from '../../src/runtime/config.js';
import { evictionPolicyWarning, resolveRedis } from '../../src/runtime/connect-redis.js';
import { parseRedisUrl } from '../../src/runtime/redis-url.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-redis-');

describe('parseRedisUrl', () => {
  it('reads TCP URLs, unix sockets and a bare path; refuses other schemes with the field named', () => {
    expect(parseRedisUrl('redis://:pw@10.1.2.3:6380/2').options).toEqual({ host: '10.1.2.3', port: 6380, password: 'pw', db: 2 });
    expect(parseRedisUrl('redis://localhost').display).toBe('redis://localhost:6379');
    expect(parseRedisUrl('unix:///run/r.sock').options).toEqual({ path: '/run/r.sock' });
    expect(parseRedisUrl('redis+unix:///run/r.sock').options).toEqual({ path: '/run/r.sock' });
    expect(parseRedisUrl('/run/r.sock').options).toEqual({ path: '/run/r.sock' });
    expect(parseRedisUrl('rediss://h:1').options).toMatchObject({ tls: {} });
    expect(() => parseRedisUrl('http://h')).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT', details: { field: 'redis' } }));
    expect(() => parseRedisUrl('redis://h/db')).toThrow(/database "db" is not a number/);
  });
});

describe('the eviction-policy warning', () => {
  it('warns about a Redis that may evict keys, and says nothing about one with noeviction', async () => {
    const dir = tmp();
    const socket = join(dir, 'lru.sock');
    const child = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--save', '', '--maxmemory-policy', 'allkeys-lru', '--dir', dir], { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 10_000;
      while (!existsSync(socket) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await evictionPolicyWarning(parseRedisUrl(`unix://${socket}`))).toMatch(/maxmemory-policy=allkeys-lru; set it to noeviction/);
      expect(await evictionPolicyWarning(parseRedisUrl(inject('redisUrl')))).toBeNull();
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('resolveRedis', () => {
  it('refuses an explicit URL that does not answer, naming it, and never starts a Redis of its own instead', async () => {
    const dir = tmp();
    const said: string[] = [];
    const config = resolveConfig({ home: dir, redis: `unix://${join(dir, 'nobody.sock')}` }, {});
    await expect(resolveRedis(config, join(dir, 'run'), (l) => said.push(l))).rejects.toMatchObject({
      code: 'E_REDIS_UNAVAILABLE',
      message: expect.stringContaining('nobody.sock'),
    });
    expect(said).toEqual([]);
    expect(existsSync(join(dir, 'run', 'redis.sock'))).toBe(false);
  });

  it('uses the given Redis when it answers, with nothing said', async () => {
    const dir = tmp();
    const said: string[] = [];
    const r = await resolveRedis(resolveConfig({ home: dir, redis: inject('redisUrl') }, {}), join(dir, 'run'), (l) => said.push(l));
    expect(r.embedded).toBeNull();
    expect(said).toEqual([]);
  });
});
