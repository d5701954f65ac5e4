/**
 * Recovery collects bases its records say nothing reads (a GC request lost
 * in a crash). Records can be wrong about that (a database restored from an
 * old backup does not know the boxes made since): a base file that a box disk
 * still names as its backing file is kept and reported, never collected.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { homeLayout } from '../../src/layout.js';
import { recover } from '../../src/workers/recovery/index.js';
import { filesOf, recordsOf } from '../db/support/files.js';
import { bytesOf, expectBoxesIntact, makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

describe('recovery: bases read by boxes the records do not know', () => {
  it('keeps a clone base whose readers are missing from the records, and reports it', async () => {
    const home = newHome();
    const d = open(home);
    makeBox(d, 'S');
    const { baseId } = (await d.run('clone', { op: newOp('clone'), source: 'S', targets: ['C'] })).result;
    const base = findBaseById(d.reader, baseId)!;
    const bytes = bytesOf(d.layout, ['S', 'C']);
    // What an old backup knows: the clone base, but not the boxes that read it now.
    d.writer.connection.exec(`DELETE FROM base_disk_ref; DELETE FROM box`);
    d.close();
    const files = filesOf(home);
    const records = recordsOf(home);

    const dry = await recover(home, { repair: false });
    const report = await recover(home, { fsync: false });
    for (const r of [dry, report]) {
      expect(r.problems).toContainEqual(expect.objectContaining({ subject: 'base', id: baseId, action: 'none: kept while read', repaired: false }));
      expect(r.collected).toEqual([]);
    }
    expect(existsSync(base.basePath)).toBe(true);
    expect(filesOf(home)).toEqual(files);
    expect(recordsOf(home)).toEqual(records);
    expectBoxesIntact(homeLayout(home), bytes);
  });
});
