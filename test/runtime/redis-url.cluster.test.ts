/** Redis Cluster URLs and the hash-tag rule for prefixes (pure). */
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { checkRedisTarget, hashTagOf } from '../../src/runtime/redis-connection.js';
import { parseRedisUrl } from '../../src/runtime/redis-url.js';

describe('parseRedisUrl: redis-cluster://', () => {
  it.each([
    ['redis-cluster://127.0.0.1:7000,127.0.0.1:7001', [{ host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7001 }], {}],
    ['redis-cluster://:s3cret@r1:6379/', [{ host: 'r1', port: 6379 }], { password: 's3cret' }],
    ['rediss-cluster://app:p%40ss@[::1]:7000', [{ host: '::1', port: 7000 }], { username: 'app', password: 'p@ss', tls: {} }],
  ])('%s', (url, nodes, options) => {
    const t = parseRedisUrl(url);
    expect(t.cluster).toEqual(nodes);
    expect(t.options).toEqual(options);
    expect(t.display).not.toContain('s3cret');
    expect(t.display).not.toContain('p@ss');
  });

  it.each(['redis-cluster://', 'redis-cluster://host', 'redis-cluster://h:0', 'redis-cluster://h:1,h2', 'redis-cluster://h:99999'])('refuses %s', (url) => {
    expect(() => parseRedisUrl(url)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
  });

  it('a plain URL is not a cluster', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379').cluster).toBeUndefined();
  });
});

describe('hash tags', () => {
  it.each([
    ['{forkpoint}', 'forkpoint'],
    ['{fp}-a', 'fp'],
    ['a{b}c{d}', 'b'],
    ['{}x', null],
    ['plain', null],
    ['{open', null],
  ])('hashTagOf(%j) = %j', (prefix, tag) => expect(hashTagOf(prefix)).toBe(tag));

  it('a cluster needs a hash-tagged prefix; a single Redis does not', () => {
    expect(() => checkRedisTarget('redis-cluster://h:7000', 'forkpoint')).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT, details: { field: 'prefix' } }));
    expect(() => checkRedisTarget('redis-cluster://h:7000', '{forkpoint}')).not.toThrow();
    expect(() => checkRedisTarget('redis://h:6379', 'forkpoint')).not.toThrow();
  });
});
