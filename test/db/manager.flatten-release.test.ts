/**
 * A flattening fork leaves the source reading only its new base; its refs to
 * the old chain go in the same transaction as the commit. So a crash right
 * after the commit cannot leave the source holding bases it no longer reads:
 * recovery (or the sweep) collects the old chain.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { armFault, disarmFaults, InjectedFault } from '../../src/faults.js';
import { recover } from '../../src/db/recovery/index.js';
import { refsOfBox } from '../../src/db/sql/refsOfBox.js';
import type { BaseDiskManager } from '../../src/db/manager.js';
import { makeBox, useManagers } from './support/home.js';

const { newHome, open } = useManagers();
afterEach(() => disarmFaults());

/** S on a chain of 8 clone bases, each read only by S (its clone removed): the next fork flattens. */
function deepChain(mgr: BaseDiskManager): string[] {
  makeBox(mgr, 'S');
  const chain: string[] = [];
  for (let i = 1; i <= 8; i++) {
    chain.push(mgr.clone('S', [`C${i}`]).base.id);
    mgr.removeBox(`C${i}`);
  }
  return chain;
}

const surviving = (mgr: BaseDiskManager, ids: string[]) => ids.filter((id) => mgr.writer.connection.prepare('SELECT 1 FROM base_disk WHERE id = ?').get(id));

describe('manager: the flatten past the depth cap', () => {
  it('releases the old chain, which is collected', () => {
    const mgr = open(newHome());
    const chain = deepChain(mgr);
    const snap = mgr.createSnapshot('S', 'deep');
    expect(refsOfBox(mgr.writer.connection, 'S')).toEqual([snap.id]);
    expect(surviving(mgr, chain)).toEqual([]);
  });

  it('a crash right after its commit: the source holds only the new base, and recovery collects the old chain', () => {
    const home = newHome();
    const mgr = open(home);
    const chain = deepChain(mgr);
    armFault('fork:after-commit', 'throw');
    expect(() => mgr.createSnapshot('S', 'deep')).toThrow(InjectedFault);
    disarmFaults();
    const snap = mgr.findSnapshot('S', 'deep')!;
    expect(refsOfBox(mgr.writer.connection, 'S')).toEqual([snap.id]);
    expect(surviving(mgr, chain)).toEqual(chain); // nothing collected yet: the crash came first
    mgr.close();

    const report = recover(home, { fsync: false });
    expect([...report.collected].sort()).toEqual([...chain].sort());
    expect(surviving(open(home), chain)).toEqual([]);
  });
});
