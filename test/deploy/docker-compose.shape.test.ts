/**
 * There is no Docker engine here, so the compose file is checked by what it
 * says: Redis 7 with noeviction and AOF, and the service with its home on a
 * volume, talking to that Redis.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as {
  services: Record<string, { image?: string; build?: unknown; command?: string[]; environment?: Record<string, string>; volumes?: string[] }>;
  volumes: Record<string, unknown>;
};

describe('docker-compose.yml', () => {
  it('runs Redis 7 with maxmemory-policy noeviction and AOF on a volume', () => {
    const redis = compose.services.redis!;
    expect(redis.image).toMatch(/^redis:7/);
    const cmd = redis.command!.join(' ');
    expect(cmd).toMatch(/--maxmemory-policy noeviction/);
    expect(cmd).toMatch(/--appendonly yes/);
    expect(redis.volumes!.some((v) => v.endsWith(':/data'))).toBe(true);
  });

  it('runs the service with its home on a named volume and REDIS_URL pointing at the redis service', () => {
    const svc = compose.services.forkpoint!;
    expect(svc.build).toBeDefined();
    expect(svc.command).toContain('serve');
    const home = svc.environment!.FORKPOINT_HOME!;
    const volume = svc.volumes!.find((v) => v.endsWith(`:${home}`));
    expect(volume, 'home folder is on a volume').toBeDefined();
    expect(Object.keys(compose.volumes)).toContain(volume!.split(':')[0]);
    expect(svc.environment!.REDIS_URL).toBe('redis://redis:6379');
  });
});
