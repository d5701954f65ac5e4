/**
 * There is no Docker engine here, so the compose file is checked by what it
 * says: Redis 7 with noeviction and AOF, and the service with its home on a
 * volume, talking to that Redis; and the Dockerfile runs it as a user that is not root.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestService } from '../http/support.js';

const composeText = readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8');
const compose = parse(composeText) as {
  services: Record<
    string,
    {
      image?: string;
      build?: unknown;
      command?: string[];
      environment?: Record<string, string>;
      volumes?: string[];
      user?: string;
      depends_on?: unknown;
      healthcheck?: { test: string[] };
    }
  >;
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

describe('docker-compose.yml: the Redis alone, the service healthy and not root', () => {
  it('needs no variable to start the redis service (compose reads every ${VAR:?} of the file, whatever it starts)', () => {
    // Outside comments, nothing may demand a variable: `up -d redis` would fail on it.
    const lines = composeText.split('\n').filter((l) => !l.trim().startsWith('#'));
    expect(lines.filter((l) => /\$\{[A-Za-z_][A-Za-z0-9_]*:?\?/.test(l))).toEqual([]);
    expect(compose.services.redis!.depends_on).toBeUndefined();
    expect(compose.services.redis!.environment ?? {}).not.toHaveProperty('FORKPOINT_TOKEN');
  });

  it('runs the service as the image user, not root', () => {
    const user = compose.services.forkpoint!.user!;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user.split(':')[0]);
    const dockerUser = /^USER\s+(\S+)/m.exec(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8'))![1];
    expect(user).toBe(dockerUser);
  });

  it("probes /readyz: the healthcheck command passes on a ready service and fails when the answer is not 200", { timeout: 60_000 }, async () => {
    const test = compose.services.forkpoint!.healthcheck!.test;
    expect(test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    const script = test[3]!;
    expect(script).toContain('/readyz');
    const s = await startTestService({ token: 's3cret' });
    try {
      // The compose file's port, pointed at this service's; the rest of the command as written.
      const here = script.replace('127.0.0.1:7420', new URL(s.url).host);
      const probe = (token: string) =>
        promisify(execFile)(process.execPath, ['-e', here], { env: { ...process.env, FORKPOINT_TOKEN: token } }).then(
          () => 0,
          (err: { code?: number }) => err.code ?? -1,
        );
      expect(await probe('s3cret')).toBe(0);
      expect(await probe('wrong')).toBe(1);
      s.http.ctx.stopping = true; // readyz answers 503 while the service stops
      expect(await probe('s3cret')).toBe(1);
    } finally {
      await s.close();
    }
  });
});

describe('Dockerfile', () => {
  // Instructions, one a line (continuations joined), without comments.
  const instructions = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

  it('runs the service as a user that is not root, who owns the home folder', () => {
    const users = instructions.filter((l) => /^USER\s/i.test(l));
    expect(users.length, 'a USER instruction').toBeGreaterThan(0);
    const user = users.at(-1)!.split(/\s+/)[1]!;
    const [name, group] = user.split(':');
    expect(['root', '0']).not.toContain(name);
    if (group !== undefined) expect(['root', '0']).not.toContain(group);
    // Nothing after the last USER switches back, and the service is what runs as that user.
    const last = instructions.lastIndexOf(users.at(-1)!);
    expect(instructions.slice(last + 1).some((l) => /^(USER|RUN)\s/i.test(l))).toBe(false);
    expect(instructions.at(-1)).toMatch(/^CMD .*serve/);
    // The compose file's home is created and given to that user in the image (a named volume keeps the owner).
    const home = compose.services.forkpoint!.environment!.FORKPOINT_HOME!;
    expect(instructions.some((l) => /^RUN\s/.test(l) && l.includes(`chown`) && l.includes(home))).toBe(true);
  });
});
