/**
 * issue 11 §1 "says precisely what exists": `clone src --count N --prefix p-` under a
 * different request than the one that made p-1 … p-K (another --count here; the same
 * happens after the first request finished) is refused with every name that exists
 * counted and the first few named, and changes nothing: no box, no base, no folder.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-rerun-names-');

describe('cli: clone targets that exist already', () => {
  it('are all counted and the first named, and nothing is changed', { timeout: 60_000 }, async () => {
    const home = join(tmp(), 'home');
    const fp = (args: string[]) => runCli(['--home', home, '--redis', inject('redisUrl'), ...args]);
    expect((await fp(['box', 'create', 'src', '--size', '1M'])).status).toBe(0);
    expect((await fp(['clone', 'src', '--count', '7', '--prefix', 'p-'])).status).toBe(0);
    const before = { boxes: readdirSync(join(home, 'boxes')).sort(), bases: readdirSync(join(home, 'bases')).sort() };

    const r = await fp(['clone', 'src', '--count', '10', '--prefix', 'p-']);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/^forkpoint: 7 of the 10 clone target boxes already exist: p-1, p-2, p-3, p-4, p-5 and 2 more; nothing was changed\. .*another --prefix.*\[E_ALREADY_EXISTS\]\n$/);
    const j = await fp(['--json', 'clone', 'src', '--count', '10', '--prefix', 'p-']);
    expect(j.status).toBe(3);
    expect((JSON.parse(j.stdout) as { error: { details: unknown } }).error.details).toMatchObject({ existingCount: 7, existing: ['p-1', 'p-2', 'p-3', 'p-4', 'p-5'] });
    // One that exists among new ones is named alone, as before.
    const one = await fp(['clone', 'src', 'p-3', 'q-1']);
    expect(one.stderr).toMatch(/clone target box p-3 already exists/);

    expect({ boxes: readdirSync(join(home, 'boxes')).sort(), bases: readdirSync(join(home, 'bases')).sort() }).toEqual(before);
    const check = await fp(['--json', 'check']);
    expect((JSON.parse(check.stdout) as { problems: unknown[] }).problems).toEqual([]);
  });
});
