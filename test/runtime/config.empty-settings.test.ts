/**
 * Settings given as nothing: an environment variable set to the empty string counts as unset (a
 * shell variable expanded empty), and an empty --home is refused. Resolved as a path, '' was the
 * current folder, which `box create` then made a home of, private to its user.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/runtime/config.js';

const DEFAULT_HOME = join(homedir(), '.forkpoint');

describe('resolveConfig: settings given as nothing', () => {
  const cases: { what: string; flags: { home?: string; redis?: string }; env: NodeJS.ProcessEnv; home: string; redisExplicit: boolean }[] = [
    { what: 'nothing set', flags: {}, env: {}, home: DEFAULT_HOME, redisExplicit: false },
    { what: 'FORKPOINT_HOME empty', flags: {}, env: { FORKPOINT_HOME: '' }, home: DEFAULT_HOME, redisExplicit: false },
    { what: 'FORKPOINT_HOME blank', flags: {}, env: { FORKPOINT_HOME: '  ' }, home: DEFAULT_HOME, redisExplicit: false },
    { what: 'FORKPOINT_HOME set', flags: {}, env: { FORKPOINT_HOME: '/srv/fp' }, home: '/srv/fp', redisExplicit: false },
    { what: '--home over FORKPOINT_HOME', flags: { home: 'rel/home' }, env: { FORKPOINT_HOME: '/srv/fp' }, home: resolve('rel/home'), redisExplicit: false },
    { what: 'REDIS_URL empty', flags: {}, env: { REDIS_URL: '' }, home: DEFAULT_HOME, redisExplicit: false },
    { what: 'REDIS_URL set', flags: {}, env: { REDIS_URL: 'redis://10.0.0.1:6379' }, home: DEFAULT_HOME, redisExplicit: true },
  ];
  for (const c of cases) {
    it(`${c.what}`, () => {
      const config = resolveConfig(c.flags, c.env);
      expect({ home: config.home, redisExplicit: config.redisExplicit }).toEqual({ home: c.home, redisExplicit: c.redisExplicit });
    });
  }

  it('an empty --home is refused, naming the option', () => {
    for (const home of ['', ' ']) {
      expect(() => resolveConfig({ home }, { FORKPOINT_HOME: '/srv/fp' })).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT', details: { field: 'home' } }));
    }
  });
});
