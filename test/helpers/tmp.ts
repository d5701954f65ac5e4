import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/** A fresh, canonical temp folder per call, removed after the test. */
export function useTmpDirs(prefix = 'forkpoint-'): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
    made.push(d);
    return d;
  };
}

/**
 * A small tmpfs per call (a disk to fill), unmounted after the test, before its folder goes.
 * Root only: callers skip without it (`describe.skipIf(!isRoot)`).
 */
export function useTmpfs(prefix = 'forkpoint-tmpfs-'): (size: string) => string {
  const tmp = useTmpDirs(prefix);
  const mounts: string[] = [];
  afterEach(() => {
    for (const m of mounts.splice(0)) execFileSync('umount', [m]);
  });
  return (size) => {
    const mnt = join(tmp(), 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt]);
    mounts.push(mnt);
    return mnt;
  };
}

export const isRoot = process.getuid?.() === 0;
