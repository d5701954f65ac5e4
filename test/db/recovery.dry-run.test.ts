/**
 * A dry run (`repair: false`) changes nothing, not even by making folders, and
 * says what a repair would do: items the repair settles on its way (the
 * targets of a fork it undoes) do not ask for a person, and a removal it
 * finishes names the base the repair then collects.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { armFault, disarmFaults, InjectedFault } from '../../src/faults.js';
import { recover } from '../../src/db/recovery/index.js';
import { makeBox, useManagers } from './support/home.js';

const { newHome, open } = useManagers();
afterEach(() => disarmFaults());

describe('recovery: the dry run', () => {
  it('on a home that does not exist creates nothing and reports nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-dry-'));
    try {
      const home = join(dir, 'typo', 'home');
      expect(recover(home, { repair: false })).toMatchObject({ repair: false, problems: [], summary: { found: 0 } });
      expect(existsSync(join(dir, 'typo'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a clone stopped after beginFork: the targets follow the fork, nothing needs a person, as the repair shows', () => {
    const home = newHome();
    const mgr = open(home);
    makeBox(mgr, 'S');
    armFault('fork:after-begin', 'throw');
    expect(() => mgr.clone('S', ['C1', 'C2'])).toThrow(InjectedFault);
    disarmFaults();
    mgr.close();

    const dry = recover(home, { repair: false });
    expect(dry.summary).toMatchObject({ found: 3, needsAttention: 0 });
    const base = dry.problems.find((p) => p.subject === 'base')!;
    expect(dry.problems.filter((p) => p.subject === 'box').map((p) => [p.id, p.action])).toEqual([
      ['C1', `follow the fork of base ${base.id} (see its item)`],
      ['C2', `follow the fork of base ${base.id} (see its item)`],
    ]);
    const repair = recover(home, { fsync: false });
    expect(repair.summary.needsAttention).toBe(0);
    expect(recover(home, { repair: false }).problems).toEqual([]);
  });

  it('a removal stopped after its record: the dry run names the base the repair collects', () => {
    const home = newHome();
    const mgr = open(home);
    makeBox(mgr, 'S');
    const { base } = mgr.clone('S', ['C1']);
    mgr.removeBox('S'); // the clone base is now read only by C1
    armFault('remove:after-record', 'throw');
    expect(() => mgr.removeBox('C1')).toThrow(InjectedFault);
    disarmFaults();
    mgr.close();

    const dry = recover(home, { repair: false });
    expect(dry.problems).toEqual([expect.objectContaining({ subject: 'box', id: 'C1', action: expect.stringContaining(`collect base ${base.id}`) })]);
    expect(recover(home, { fsync: false }).collected).toEqual([base.id]);
  });
});
