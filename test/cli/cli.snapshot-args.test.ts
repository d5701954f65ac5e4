/**
 * `snapshot rm` takes BOX NAME in the order `snapshot create BOX NAME` does
 * (as Incus does), and the older `snapshot rm NAME --box BOX` keeps working.
 */
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { runCli } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-snapargs-');

describe('cli: snapshot argument order', () => {
  it('snapshot rm BOX NAME and snapshot rm NAME --box BOX both remove; a box given twice that disagrees is refused', { timeout: 90_000 }, async () => {
    const home = join(tmp(), 'home');
    const fp = (...args: string[]) => runCli(['--home', home, '--redis', inject('redisUrl'), ...args]);
    expect((await fp('box', 'create', 'web', '--size', '1M')).status).toBe(0);
    for (const name of ['a', 'b', 'c']) expect((await fp('snapshot', 'create', 'web', name)).status).toBe(0);

    const wrong = await fp('snapshot', 'rm', 'web', 'c', '--box', 'other');
    expect([wrong.status, wrong.stderr.includes('[E_INVALID_ARGUMENT]')], wrong.stderr).toEqual([2, true]);
    const newForm = await fp('snapshot', 'rm', 'web', 'a', '--force');
    expect(newForm.status, newForm.stderr).toBe(0);
    const oldForm = await fp('snapshot', 'rm', 'b', '--box', 'web', '--force');
    expect(oldForm.status, oldForm.stderr).toBe(0);

    const reader = openReader(home);
    try {
      expect(reader.listBases({ kind: 'snapshot' }).map((b) => b.name)).toEqual(['c']);
    } finally {
      reader.close();
    }
  });
});
