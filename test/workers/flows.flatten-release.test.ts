/**
 * A flattening fork leaves the source reading only its new base; its refs to
 * the old chain go in the same transaction as the commit. So a crash right
 * after the commit cannot leave the source holding bases it no longer reads:
 * recovery (or the sweep) collects the old chain.
 */
import { describe, expect, it } from 'vitest';
import { InjectedFault } from '../../src/faults.js';
import { recover } from '../../src/workers/recovery/index.js';
import { findSnapshot } from '../../src/db/sql/findSnapshot.js';
import { refsOfBox } from '../../src/db/sql/refsOfBox.js';
import type { InProcessDriver } from '../../src/workers/in-process.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

/** S on a chain of 8 clone bases, each read only by S (its clone removed): the next fork flattens. */
async function deepChain(d: InProcessDriver): Promise<string[]> {
  makeBox(d, 'S');
  const chain: string[] = [];
  for (let i = 1; i <= 8; i++) {
    chain.push((await d.run('clone', { op: newOp('clone'), source: 'S', targets: [`C${i}`] })).result.baseId);
    await d.run('remove-box', { op: newOp('rm'), boxId: `C${i}` });
  }
  return chain;
}

const surviving = (d: InProcessDriver, ids: string[]) => ids.filter((id) => d.reader.prepare('SELECT 1 FROM base_disk WHERE id = ?').get(id));

describe('flows: the flatten past the depth cap', () => {
  it('releases the old chain, which is collected', async () => {
    const d = open(newHome(), { compaction: false }); // the depth cap's fallback, not background compaction
    const chain = await deepChain(d);
    const { result, collected } = await d.run('snapshot-create', { op: newOp('snap'), boxId: 'S', name: 'deep' });
    expect(refsOfBox(d.reader, 'S')).toEqual([result.baseId]);
    expect(surviving(d, chain)).toEqual([]);
    expect([...collected].sort()).toEqual([...chain].sort());
  });

  it('a crash right after its commit: the source holds only the new base, and recovery collects the old chain', async () => {
    const home = newHome();
    let crashAfterCommit = false;
    const d = open(home, {
      compaction: false,
      afterPortCall: (call) => {
        if (crashAfterCommit && call.port === 'writer' && call.command === 'commitFork') throw new InjectedFault('after commitFork');
      },
    });
    const chain = await deepChain(d);
    crashAfterCommit = true;
    await expect(d.run('snapshot-create', { op: newOp('snap'), boxId: 'S', name: 'deep' })).rejects.toThrow(InjectedFault);
    const snap = findSnapshot(d.reader, 'S', 'deep')!;
    expect(snap.state).toBe('ready');
    expect(refsOfBox(d.reader, 'S')).toEqual([snap.id]);
    expect(surviving(d, chain)).toEqual(chain); // nothing collected yet: the crash came first
    d.close();

    const report = await recover(home, { fsync: false });
    expect([...report.collected].sort()).toEqual([...chain].sort());
    expect(surviving(open(home), chain)).toEqual([]);
  });
});
