/** Recovery drops settled journal entries past the retention; pending ones (recovery's own input) stay. */
import { describe, expect, it } from 'vitest';
import { JOURNAL_RETENTION_MS, recover } from '../../src/workers/recovery/index.js';
import { openWriter } from '../../src/db/writer.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-journal-');

describe('recovery: the op journal does not grow forever', () => {
  it('prunes done and aborted entries older than the retention, keeps recent and pending ones', async () => {
    const home = tmp();
    const day = 24 * 3600 * 1000;
    let now = Date.now() - 30 * day;
    const w = openWriter(home, { now: () => now });
    w.apply({ type: 'createBox', op: 'old-box', boxId: 'old', baseId: null });
    w.apply({ type: 'commitBox', op: 'old-box', boxId: 'old' }); // settles createBox: done, 30 days ago
    w.apply({ type: 'createBox', op: 'old-pending', boxId: 'pending', baseId: null }); // stays pending
    now = Date.now();
    w.apply({ type: 'createBox', op: 'new-box', boxId: 'new', baseId: null });
    w.apply({ type: 'commitBox', op: 'new-box', boxId: 'new' });
    const ops = () => (w.connection.prepare('SELECT op_id, command, state FROM op ORDER BY op_id, command').all() as { op_id: string }[]).map((r) => r.op_id);
    expect(new Set(ops())).toEqual(new Set(['old-box', 'old-pending', 'new-box']));
    w.close();

    expect(JOURNAL_RETENTION_MS).toBeLessThan(30 * day);
    const report = await recover(home, { repair: true });
    expect(report.journalPruned).toBeGreaterThan(0);
    const after = openWriter(home);
    try {
      const left = after.connection.prepare('SELECT op_id, state FROM op').all() as { op_id: string; state: string }[];
      expect(left.filter((r) => r.op_id === 'old-box')).toEqual([]);
      expect(left.some((r) => r.op_id === 'new-box')).toBe(true);
    } finally {
      after.close();
    }
  });
});
