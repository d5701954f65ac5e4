/**
 * When `check` calls a home settled (exit 0): the rule over a report's summary, table-driven, and
 * the summary of a repair that failed (act() marks it failed; summarize() counts it), which a
 * repair on a full disk makes: "repaired 0, needs attention 0" read as done, and exited 0.
 */
import { describe, expect, it } from 'vitest';
import { act, isSettled, summarize, type RecoveryContext, type RecoverySummary } from '../../src/workers/recovery/context.js';

const summary = (s: Partial<RecoverySummary>): RecoverySummary => ({ found: 0, repaired: 0, needsAttention: 0, failed: 0, collected: 0, inFlight: 0, ...s });

const rules: { what: string; summary: RecoverySummary; repaired: boolean; settled: boolean }[] = [
  { what: 'a report that finds nothing', summary: summary({}), repaired: false, settled: true },
  { what: 'a report that finds a problem', summary: summary({ found: 1 }), repaired: false, settled: false },
  { what: 'a report whose finds are all in flight', summary: summary({ found: 2, inFlight: 2 }), repaired: false, settled: true },
  { what: 'a repair that repaired everything', summary: summary({ found: 3, repaired: 3 }), repaired: true, settled: true },
  { what: 'a repair that left something for a person', summary: summary({ found: 2, repaired: 1, needsAttention: 1 }), repaired: true, settled: false },
  { what: 'a repair whose repairs failed', summary: summary({ found: 2, failed: 2 }), repaired: true, settled: false },
  { what: 'a repair that left things alone by rule (younger than the grace)', summary: summary({ found: 1 }), repaired: true, settled: true },
  { what: "a repair reported by an older service (no failed count)", summary: { found: 1, repaired: 1, needsAttention: 0, collected: 0, inFlight: 0 } as RecoverySummary, repaired: true, settled: true },
];

describe('recovery: settled or not', () => {
  it.each(rules)('$what: settled $settled', ({ summary: s, repaired, settled }) => {
    expect(isSettled(s, repaired)).toBe(settled);
  });

  it('a repair that throws is reported failed, not repaired, and counted', async () => {
    const ctx = { flows: {} } as unknown as RecoveryContext; // a repairing run: act() carries the repair out
    const problem = { subject: 'box' as const, id: 'b', problem: 'not finished', action: 'finish it' };
    const failed = await act(ctx, problem, () => {
      throw new Error('database or disk is full');
    });
    const done = await act(ctx, { ...problem, id: 'c' }, () => undefined);
    expect(failed).toMatchObject({ repaired: false, failed: true, action: 'finish it (failed: database or disk is full)' });
    expect(done).toMatchObject({ repaired: true });
    expect(done.failed).toBeUndefined();
    const s = summarize([failed, done], []);
    expect(s).toMatchObject({ found: 2, repaired: 1, failed: 1, needsAttention: 0 });
    expect(isSettled(s, true)).toBe(false);
  });
});
