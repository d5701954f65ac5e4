/**
 * `box rm` tries every box whatever happens to the others and reports each
 * outcome: removed ones on stdout, the rest one line each on stderr, all of
 * them with --json; the exit status is not 0 if any was not removed (2 when
 * they were only unknown). The same with and without `forkpoint serve`, and
 * while another client removes one of the same boxes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { boxDir, homeLayout } from '../../src/layout.js';
import { runCli, startServe, useCleanup } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-boxrm-');
const { killAtEnd } = useCleanup();

async function homeWith(boxes: string[]): Promise<{ home: string; fp: (args: string[]) => ReturnType<typeof runCli> }> {
  const home = join(tmp(), 'home');
  const fp = (args: string[]) => runCli(['--home', home, '--redis', inject('redisUrl'), ...args], { timeoutMs: 60_000 });
  const made = await fp(['box', 'create', 'src', '--size', '1M']);
  expect(made.status, made.stderr).toBe(0);
  const cloned = await fp(['clone', 'src', ...boxes]);
  expect(cloned.status, cloned.stderr).toBe(0);
  return { home, fp };
}

const boxIds = async (fp: (args: string[]) => ReturnType<typeof runCli>) =>
  (JSON.parse((await fp(['--json', 'box', 'ls'])).stdout) as { id: string }[]).map((b) => b.id).sort();

describe('cli: box rm with an unknown box among known ones', () => {
  it('without serve: removes every known box, reports each outcome, exits 2', async () => {
    const { home, fp } = await homeWith(['a', 'b', 'c']);
    const r = await fp(['box', 'rm', 'a', 'nosuch', 'b']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout.trim().split('\n')).toEqual(['removed box a', 'removed box b']);
    expect(r.stderr.trim().split('\n')).toEqual(['forkpoint: unknown box nosuch [E_UNKNOWN_BOX]']);
    expect(await boxIds(fp)).toEqual(['c', 'src']);
    for (const id of ['a', 'b']) expect(existsSync(boxDir(homeLayout(home), id))).toBe(false);

    const json = await fp(['--json', 'box', 'rm', 'c', 'nosuch', 'a']);
    expect(json.status, json.stderr).toBe(2);
    const outcomes = JSON.parse(json.stdout) as { boxId: string; outcome: string; error?: { code: string } }[];
    expect(outcomes.map((o) => [o.boxId, o.outcome, o.error?.code ?? null])).toEqual([
      ['c', 'removed', null],
      ['nosuch', 'unknown', 'E_UNKNOWN_BOX'],
      ['a', 'unknown', 'E_UNKNOWN_BOX'],
    ]);
    expect(outcomes[0]).toMatchObject({ touchedBases: expect.any(Array) });
    expect(await boxIds(fp)).toEqual(['src']);
  });

  it('through serve: the same outcomes; and `box rm a b c` while another command removes b ends, every box gone', async () => {
    const { home, fp } = await homeWith(['a', 'b', 'c', 'd', 'e', 'f']);
    killAtEnd(await startServe(home, inject('redisUrl')));
    const r = await fp(['box', 'rm', 'a', 'nosuch', 'b']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout.trim().split('\n')).toEqual(['removed box a', 'removed box b']);
    expect(r.stderr.trim().split('\n')).toEqual(['forkpoint: unknown box nosuch [E_UNKNOWN_BOX]']);

    const [both, other] = await Promise.all([fp(['--json', 'box', 'rm', 'c', 'd', 'e']), fp(['--json', 'box', 'rm', 'd'])]);
    expect(both.signal, both.stderr).toBeNull();
    expect(other.signal, other.stderr).toBeNull();
    const outcomes = [...(JSON.parse(both.stdout) as { boxId: string; outcome: string }[]), ...(JSON.parse(other.stdout) as { boxId: string; outcome: string }[])];
    // d was removed by exactly one of them (the other finds it unknown, or joins the removal); c and e by the first.
    expect(outcomes.filter((o) => o.boxId === 'd' && o.outcome === 'removed').length).toBeGreaterThanOrEqual(1);
    expect(outcomes.every((o) => o.outcome === 'removed' || (o.boxId === 'd' && o.outcome === 'unknown'))).toBe(true);
    expect(await boxIds(fp)).toEqual(['f', 'src']);
  });
});
