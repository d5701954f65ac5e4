/**
 * Settings given as nothing (a shell variable expanded empty): an empty Redis URL counts as not
 * given, an empty home (--home or FORKPOINT_HOME) is refused. Resolved as a path, '' was the
 * current folder, which `box create` then made a home of, private to its user.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/runtime/config.js';

const DEFAULT_HOME = join(homedir(), '.forkpoint');

describe('resolveConfig: settings given as nothing', () => {
  const cases: { what: string; flags: { home?: string; redis?: string }; env: NodeJS.ProcessEnv; home: string; redisUrl: string | null }[] = [
    { what: 'nothing set', flags: {}, env: {}, home: DEFAULT_HOME, redisUrl: null },
    { what: 'FORKPOINT_HOME set', flags: {}, env: { FORKPOINT_HOME: '/srv/fp' }, home: '/srv/fp', redisUrl: null },
    { what: '--home over FORKPOINT_HOME', flags: { home: 'rel/home' }, env: { FORKPOINT_HOME: '/srv/fp' }, home: resolve('rel/home'), redisUrl: null },
    { what: 'REDIS_URL empty', flags: {}, env: { REDIS_URL: '' }, home: DEFAULT_HOME, redisUrl: null },
    { what: '--redis empty (commander fills it from an empty REDIS_URL)', flags: { redis: '' }, env: {}, home: DEFAULT_HOME, redisUrl: null },
    { what: 'REDIS_URL set', flags: {}, env: { REDIS_URL: 'redis://10.0.0.1:6379' }, home: DEFAULT_HOME, redisUrl: 'redis://10.0.0.1:6379' },
  ];
  for (const c of cases) {
    it(`${c.what}`, () => {
      const config = resolveConfig(c.flags, c.env);
      expect({ home: config.home, redisUrl: config.redisUrl }).toEqual({ home: c.home, redisUrl: c.redisUrl });
    });
  }

  it('an empty home is refused, from --home or FORKPOINT_HOME', () => {
    const given: [{ home?: string }, NodeJS.ProcessEnv][] = [
      [{ home: '' }, { FORKPOINT_HOME: '/srv/fp' }],
      [{ home: ' ' }, {}],
      [{}, { FORKPOINT_HOME: '' }],
      [{}, { FORKPOINT_HOME: '  ' }],
    ];
    for (const [flags, env] of given) {
      expect(() => resolveConfig(flags, env)).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT', details: { field: 'home' } }));
    }
  });
});
