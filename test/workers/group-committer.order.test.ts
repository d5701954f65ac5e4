/**
 * GroupCommitter (flows/group-committer.ts) on its own, with flushes and commits the test
 * releases by hand: a group commits only after its flush, the next group's flush may run while
 * it commits, commits stay in order, a chunk added at any moment is committed, and after a
 * failure (of a flush or of a commit) nothing later commits.
 */
import { describe, expect, it } from 'vitest';
import { GroupCommitter } from '../../src/workers/flows/group-committer.js';

/** A step the test finishes: each call waits until released (or failed) in call order. */
function gate(log: string[], tag: string) {
  const waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const step = (group: string[][]) =>
    new Promise<void>((resolve, reject) => {
      log.push(`${tag}:${group.map((c) => c.join('+')).join(',')}`);
      waiting.push({ resolve, reject });
    });
  return { step, release: () => waiting.shift()!.resolve(), fail: (m: string) => waiting.shift()!.reject(new Error(m)), waiting };
}

const ticks = () => new Promise((r) => setTimeout(r, 0));

/** A committer on gated steps, with chunk a's flush under way and chunk b waiting for the next group. */
async function started() {
  const log: string[] = [];
  const flush = gate(log, 'flush');
  const commit = gate(log, 'commit');
  const c = new GroupCommitter(flush.step, commit.step);
  c.add(['a']);
  await ticks();
  c.add(['b']);
  return { log, flush, commit, c };
}

describe('GroupCommitter', () => {
  it('flushes the next group while the last commits; commits in order, each after its flush', async () => {
    const { log, flush, commit, c } = await started();
    c.add(['c']);
    expect(log).toEqual(['flush:a']); // b and c wait for the next group
    flush.release();
    await ticks();
    expect(log).toEqual(['flush:a', 'flush:b,c', 'commit:a']); // b,c flush while a commits
    flush.release(); // b,c flushed before a's commit ended: their commit still waits for a's
    await ticks();
    expect(log).toEqual(['flush:a', 'flush:b,c', 'commit:a']);
    commit.release();
    await ticks();
    expect(log.at(-1)).toBe('commit:b,c');
    c.add(['d']); // while b,c commit, after the run's last look: committed all the same
    commit.release();
    await ticks();
    flush.release();
    await ticks();
    commit.release();
    await c.drain();
    expect(log).toEqual(['flush:a', 'flush:b,c', 'commit:a', 'commit:b,c', 'flush:d', 'commit:d']);
  });

  it.each([
    ['a failed commit', 'commit'],
    ['a failed flush', 'flush'],
  ] as const)('after %s nothing later commits, and drain() rejects with it', async (_, failing) => {
    const { log, flush, commit, c } = await started();
    if (failing === 'flush') flush.fail('no flush');
    else {
      flush.release();
      await ticks();
      commit.fail('no commit'); // a's commit; b's flush is running
      await ticks();
      flush.release();
    }
    const drained = c.drain().then(() => null, (e: Error) => e.message);
    await ticks();
    c.add(['late']);
    expect(await drained).toBe(failing === 'flush' ? 'no flush' : 'no commit');
    expect(() => c.throwIfFailed()).toThrow();
    expect(log.filter((l) => l.startsWith('commit:'))).toEqual(failing === 'flush' ? [] : ['commit:a']);
    expect(log.join(' ')).not.toContain('late');
  });
});
