/**
 * A dry run (`repair: false`) changes nothing, not even by making folders, and
 * says what a repair would do: items the repair settles on its way (the
 * targets of a fork it undoes) do not ask for a person, and a removal it
 * finishes names the base the repair then collects.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InjectedFault } from '../../src/faults.js';
import type { WriterCommand } from '../../src/db/types.js';
import type { InProcessOptions } from '../../src/workers/in-process.js';
import { recover } from '../../src/workers/recovery/index.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

/** Driver hooks that stop the run (as a crash would) right after the next `command` once `armed.on`. */
function crashAfter(command: WriterCommand['type']): { armed: { on: boolean }; hooks: InProcessOptions } {
  const armed = { on: false };
  return {
    armed,
    hooks: {
      afterPortCall: (call) => {
        if (armed.on && call.port === 'writer' && call.command === command) throw new InjectedFault(`after ${command}`);
      },
    },
  };
}

describe('recovery: the dry run', () => {
  it('on a home that does not exist creates nothing and reports nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-dry-'));
    try {
      const home = join(dir, 'typo', 'home');
      expect(await recover(home, { repair: false })).toMatchObject({ repair: false, problems: [], summary: { found: 0 } });
      expect(existsSync(join(dir, 'typo'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a clone stopped after beginFork: the targets follow the fork, nothing needs a person, as the repair shows', async () => {
    const home = newHome();
    const crash = crashAfter('beginFork');
    const d = open(home, crash.hooks);
    makeBox(d, 'S');
    crash.armed.on = true;
    await expect(d.run('clone', { op: newOp('clone'), source: 'S', targets: ['C1', 'C2'] })).rejects.toThrow(InjectedFault);
    d.close();

    const dry = await recover(home, { repair: false });
    expect(dry.summary).toMatchObject({ found: 3, needsAttention: 0 });
    const base = dry.problems.find((p) => p.subject === 'base')!;
    expect(dry.problems.filter((p) => p.subject === 'box').map((p) => [p.id, p.action])).toEqual([
      ['C1', `follow the fork of base ${base.id} (see its item)`],
      ['C2', `follow the fork of base ${base.id} (see its item)`],
    ]);
    const repair = await recover(home, { fsync: false });
    expect(repair.summary.needsAttention).toBe(0);
    expect((await recover(home, { repair: false })).problems).toEqual([]);
  });

  it('a removal stopped after its record: the dry run names the base the repair collects', async () => {
    const home = newHome();
    const crash = crashAfter('removeBox');
    const d = open(home, crash.hooks);
    makeBox(d, 'S');
    const { baseId } = (await d.run('clone', { op: newOp('clone'), source: 'S', targets: ['C1'] })).result;
    await d.run('remove-box', { op: newOp('rm'), boxId: 'S' }); // the clone base is now read only by C1
    crash.armed.on = true;
    await expect(d.run('remove-box', { op: newOp('rm'), boxId: 'C1' })).rejects.toThrow(InjectedFault);
    d.close();

    const dry = await recover(home, { repair: false });
    expect(dry.problems).toEqual([expect.objectContaining({ subject: 'box', id: 'C1', action: expect.stringContaining(`collect base ${baseId}`) })]);
    expect((await recover(home, { fsync: false })).collected).toEqual([baseId]);
  });
});
