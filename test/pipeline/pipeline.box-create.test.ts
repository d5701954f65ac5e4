/**
 * box-create refuses bad sources with typed errors and changes nothing: a
 * folder left without a record is never written into or deleted, a FIFO does
 * not hang a file thread, a missing image leaves no box behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { boxDiskPath } from '../../src/layout.js';
import { useTestPipelines, type TestPipeline } from '../helpers/pipeline.js';
import { qemuCheck } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-boxcreate-');
const startPipeline = useTestPipelines();

function boxIds(t: TestPipeline): string[] {
  const r = openReader(t.layout.home);
  try {
    return r.listBoxes().map((b) => b.id);
  } finally {
    r.close();
  }
}

describe('pipeline: box-create with bad sources', () => {
  it('refuses a box whose folder exists without a record, leaving the folder exactly as it was', async () => {
    const t = await startPipeline(tmp());
    const disk = boxDiskPath(t.layout, 'orphan');
    mkdirSync(join(disk, '..'), { recursive: true });
    writeFileSync(disk, 'not ours');
    writeFileSync(join(t.layout.boxesDir, 'orphan', 'notes.txt'), 'keep me');
    await expect((await t.client.createBox('orphan', { sizeBytes: 1 << 20 })).result()).rejects.toMatchObject({ code: 'E_ALREADY_EXISTS' });
    expect(readFileSync(disk, 'utf8')).toBe('not ours');
    expect(readFileSync(join(t.layout.boxesDir, 'orphan', 'notes.txt'), 'utf8')).toBe('keep me');
    expect(boxIds(t)).toEqual([]);
  });

  it('refuses a missing image, a FIFO and a directory as --from, with no box left behind', async () => {
    const dir = tmp();
    const t = await startPipeline(dir);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const cases: [string, string][] = [
      [join(dir, 'missing.qcow2'), 'E_NOT_FOUND'],
      [fifo, 'E_NOT_A_FILE'],
      [dir, 'E_NOT_A_FILE'],
    ];
    for (const [image, code] of cases) {
      await expect((await t.client.createBox('b', { fromImage: image })).result()).rejects.toMatchObject({ code });
      expect(existsSync(join(t.layout.boxesDir, 'b'))).toBe(false);
      expect(boxIds(t)).toEqual([]);
    }
    // The file threads are free: a normal box still gets made.
    await (await t.client.createBox('b', { sizeBytes: 1 << 20 })).result();
    expect(qemuCheck(boxDiskPath(t.layout, 'b')).status).toBe(0);
  });

  it('refuses sizes that are not whole sectors or absurdly large before anything is queued', async () => {
    const t = await startPipeline(tmp());
    await expect(t.client.createBox('s', { sizeBytes: 1000 })).rejects.toMatchObject({ code: 'E_BAD_PAYLOAD', message: expect.stringMatching(/sizeBytes: must be a multiple of 512/) });
    await expect(t.client.createBox('s', { sizeBytes: 2 ** 52 })).rejects.toMatchObject({ code: 'E_BAD_PAYLOAD', message: expect.stringMatching(/sizeBytes: must be at most/) });
    expect(await t.client.pending('ops')).toBe(0);
  });
});
