import { mkdtempSync, rmSync, realpathSync } from 'node:fs';
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
