import { chmodSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { recover } from '../../src/workers/recovery/index.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

describe('recovery: bases are read-only (invariant 6)', () => {
  it('reports a writable base in a dry run, and makes it 0400 when repairing', async () => {
    const home = newHome();
    const d = open(home);
    makeBox(d, 'src');
    const { baseId } = (await d.run('clone', { op: newOp('clone'), source: 'src', targets: ['c'] })).result;
    const base = findBaseById(d.reader, baseId)!;
    d.close(); // recover opens the home's writer itself
    expect(statSync(base.basePath).mode & 0o777).toBe(0o400);

    chmodSync(base.basePath, 0o644); // as if the chmod was lost in a crash
    const dry = await recover(home, { repair: false });
    expect(dry.problems.map((p) => p.problem).join('\n')).toMatch(/mode 644, not read-only/);
    expect(statSync(base.basePath).mode & 0o777).toBe(0o644);

    const fixed = await recover(home, { repair: true, fsync: false });
    expect(fixed.problems.some((p) => p.repaired && /read-only \(0400\)/.test(p.action))).toBe(true);
    expect(statSync(base.basePath).mode & 0o777).toBe(0o400);
    expect((await recover(home, { repair: false })).problems).toEqual([]);
  });

  it('tightens a 0444 base (what forkpoint made before bases were owner-only) to 0400', async () => {
    const home = newHome();
    const d = open(home);
    makeBox(d, 'src');
    const { baseId } = (await d.run('clone', { op: newOp('clone'), source: 'src', targets: ['c'] })).result;
    const base = findBaseById(d.reader, baseId)!;
    d.close();
    chmodSync(base.basePath, 0o444);
    const dry = await recover(home, { repair: false });
    expect(dry.problems.map((p) => p.problem)).toEqual([`base ${baseId} has mode 444, not read-only 0400`]);
    await recover(home, { repair: true, fsync: false });
    expect(statSync(base.basePath).mode & 0o777).toBe(0o400);
  });
});
