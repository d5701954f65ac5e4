/**
 * startDbWriter({ openAfter }): the thread boots at once but opens the home's database only once
 * openAfter settles (start-up recovery writes it first); if openAfter fails, so does the start,
 * with that error, and the database was never opened by the thread.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDbWriter } from '../../src/workers/db-writer-client.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-writer-open-');
const dbOf = (home: string) => join(home, 'db', 'forkpoint.db');

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('db writer thread: opening after start-up recovery', () => {
  it('opens the database only once openAfter has settled, then applies commands', async () => {
    const home = tmp();
    const recovery = deferred();
    const starting = startDbWriter(home, { openAfter: recovery.promise });
    // Long enough for a thread that opened at once to have made the database (a new home has none).
    await new Promise((r) => setTimeout(r, 1000));
    expect(existsSync(dbOf(home))).toBe(false);
    recovery.resolve();
    const writer = await starting;
    try {
      expect(existsSync(dbOf(home))).toBe(true);
      await expect(writer.apply({ type: 'createBox', op: 'o1', boxId: 'a', baseId: null })).resolves.toMatchObject({ id: 'a', state: 'creating' });
    } finally {
      await writer.close();
    }
  });

  it('fails with openAfter’s error when it fails, and never opens the database', async () => {
    const home = tmp();
    const recovery = deferred();
    const starting = startDbWriter(home, { openAfter: recovery.promise });
    recovery.reject(new Error('recovery failed'));
    await expect(starting).rejects.toThrow('recovery failed');
    expect(existsSync(dbOf(home))).toBe(false);
  });
});
