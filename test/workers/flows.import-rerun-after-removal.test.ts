/**
 * box-import retried under the same op after it finished and its box was removed (a BullMQ retry of
 * a job whose reply was lost, `forkpoint op rerun`): the journal replays beginImport's old result,
 * whose base rows may be gone (collected with the box). Writing its files again would leave a disk
 * and bases no record owns (invariant 2); the retry must refuse (E_CONFLICT), and leave the home as it was.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { listBases } from '../../src/db/sql/listBases.js';
import { listBoxes } from '../../src/db/sql/listBoxes.js';
import { ErrorCodes, ForkpointError } from '../../src/errors.js';
import { exportFromHome } from '../../src/producers/oci-export.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();
const tmp = useTmpDirs('fp-oci-rerun-');

describe('flows: an import retried after its box was removed', () => {
  it('makes no file without a record', async () => {
    const a = open(newHome());
    makeBox(a, 'S', 0x4e);
    await a.run('clone', { op: newOp('clone'), source: 'S', targets: ['C'] });
    const dir = join(tmp(), 'layout');
    const reader = openReader(a.layout.home);
    try {
      exportFromHome(reader, { boxId: 'C', dir });
    } finally {
      reader.close();
    }
    const b = open(newHome());
    const op = newOp('import');
    await b.run('box-import', { op, layout: dir, tag: 'C', boxId: 'N' });
    await b.run('remove-box', { op: newOp('rm'), boxId: 'N' });
    expect(listBases(b.reader), 'its bases collected with it').toEqual([]);
    const err = await b.run('box-import', { op, layout: dir, tag: 'C', boxId: 'N' }).then(() => null, (e: unknown) => e);
    expect(err, 'the retry is refused').toBeInstanceOf(ForkpointError);
    expect((err as ForkpointError).code).toBe(ErrorCodes.CONFLICT);
    const boxes = listBoxes(b.reader).map((x) => x.id);
    const recorded = new Set(listBases(b.reader).map((x) => x.basePath));
    for (const name of readdirSync(b.layout.basesDir)) expect(recorded.has(join(b.layout.basesDir, name)), `bases/${name} has a record`).toBe(true);
    for (const name of readdirSync(b.layout.boxesDir)) expect(boxes, `boxes/${name} has a record`).toContain(name);
  });
});
