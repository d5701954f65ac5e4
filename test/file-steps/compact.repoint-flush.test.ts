/**
 * compactRepointStep with fsync: every disk that read the compacted base reads the flattened copy
 * (same guest bytes), flushed as a group by whichever flush the host's dirty pages call for; disks
 * re-pointed by an earlier attempt count as done, and one that reads something else is left alone.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { compactRepointStep } from '../../src/file-steps/compact.js';
import { BASE_MODE } from '../../src/file-steps/steps.js';
import { basePath, boxDiskPath, homeLayout } from '../../src/layout.js';
import { flatten } from '../../src/qcow2/flatten.js';
import { setBackingPath, writeCowChild } from '../../src/qcow2/index.js';
import { qemuCheck, qemuCompare, qemuCreate, qemuInfo, qemuWrite } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-repoint-');
const saved = process.env.FORKPOINT_CHILDREN_FLUSH;
afterEach(() => {
  if (saved === undefined) delete process.env.FORKPOINT_CHILDREN_FLUSH;
  else process.env.FORKPOINT_CHILDREN_FLUSH = saved;
});

describe.each(['syncfs', 'fsync'])('compactRepointStep, flushed by %s', (flush) => {
  it('re-points every disk reading the base, keeps an earlier attempt, leaves another chain alone', async () => {
    process.env.FORKPOINT_CHILDREN_FLUSH = flush;
    const layout = homeLayout(tmp());
    mkdirSync(layout.basesDir, { recursive: true });
    const [root, deep, copy, other] = ['Root0001', 'Deep0001', 'Copy0001', 'Othr0001'].map((id) => basePath(layout, id));
    qemuCreate(root!, { size: '8M' });
    qemuWrite(root!, 0x3c, 0, 65536);
    writeCowChild(root!, deep!);
    qemuWrite(deep!, 0x5a, 1 << 20, 4096, 'qcow2');
    writeCowChild(root!, other!);
    for (const f of [root!, deep!, other!]) chmodSync(f, BASE_MODE);
    flatten(deep!, copy!, { fsync: true, mode: BASE_MODE });
    const disk = (id: string, backing: string) => {
      mkdirSync(boxDiskPath(layout, id).replace(/\/[^/]+$/, ''), { recursive: true });
      return writeCowChild(backing, boxDiskPath(layout, id)).path;
    };
    const readers = ['a', 'b', 'c', 'd'].map((id) => disk(id, deep!));
    setBackingPath(readers[3]!, copy!, { backingFormat: 'qcow2' }); // re-pointed by an earlier attempt
    const elsewhere = disk('e', other!);
    const begun = { op: 'compact-test', baseId: 'Copy0001', basePath: copy!, sourceId: 'Deep0001', sourcePath: deep! };

    const done = await compactRepointStep(layout, begun, [...readers, elsewhere], { fsync: true });

    expect(done).toEqual(readers);
    for (const d of readers) {
      expect(qemuInfo(d)['backing-filename']).toBe(copy);
      expect(qemuCheck(d).status).toBe(0);
      expect(qemuCompare(d, deep!).status).toBe(0);
    }
    expect(qemuInfo(elsewhere)['backing-filename']).toBe(other);
  });
});
