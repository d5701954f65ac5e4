/** Whether a private redis-server can be started is looked up on PATH (an executable file), not run. */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { redisServerAvailable } from '../../src/runtime/embedded-redis.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-redis-path-');
const path = process.env.PATH;
afterEach(() => {
  process.env.PATH = path;
});

describe('redisServerAvailable', () => {
  it('finds the installed redis-server on PATH', () => {
    expect(redisServerAvailable()).toBe(true);
  });

  it('is false when PATH has no executable file of that name (not executable, a folder, nothing)', () => {
    const dir = tmp();
    const plain = join(dir, 'plain');
    const folder = join(dir, 'folder');
    mkdirSync(plain);
    writeFileSync(join(plain, 'redis-server'), '#!/bin/sh\n', { mode: 0o644 });
    mkdirSync(join(folder, 'redis-server'), { recursive: true });
    process.env.PATH = [plain, folder, join(dir, 'missing'), ''].join(delimiter);
    // As root, access(X_OK) passes a file with any execute bit only: 0644 has none.
    expect(redisServerAvailable()).toBe(false);
    const exec = join(dir, 'exec');
    mkdirSync(exec);
    writeFileSync(join(exec, 'redis-server'), '#!/bin/sh\n');
    chmodSync(join(exec, 'redis-server'), 0o755);
    process.env.PATH = [plain, exec].join(delimiter);
    expect(redisServerAvailable()).toBe(true);
  });
});
