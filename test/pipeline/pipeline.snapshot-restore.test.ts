/**
 * snapshot-restore through the queued driver (BullMQ worker, Piscina pool,
 * DB writer thread): the restored disk reads exactly like the snapshot base,
 * the clone base only the box read is collected by the GC jobs it queued,
 * and the home passes the auditor.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { ErrorCodes } from '../../src/errors.js';
import { boxDiskPath } from '../../src/layout.js';
import { qemuCheck, qemuCompare, qemuWrite } from '../helpers/qemu.js';
import { auditHome, gcSettled, goldenImage, useTestPipelines } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-restore-');
const startPipeline = useTestPipelines();

describe('pipeline: snapshot restore', () => {
  it('restores a box to its snapshot and collects what it no longer reads', async () => {
    const dir = tmp();
    const t = await startPipeline(dir);
    const golden = goldenImage(join(dir, 'golden.qcow2'), 0x6d);
    await (await t.client.createBox('web', { fromImage: golden })).result();
    const snap = await (await t.client.snapshot('web', 'clean')).result();
    const disk = boxDiskPath(t.layout, 'web');
    qemuWrite(disk, 0x01, 0, 65536);
    // A clone base between the box and its snapshot, read by nothing once the clone is gone.
    const cloned = await (await t.client.clone('web', ['tmp1'])).result();
    await (await t.client.removeBox('tmp1')).result();
    qemuWrite(disk, 0x02, 2 << 20, 65536);
    expect(qemuCompare(golden, disk).status).not.toBe(0);

    const r = await (await t.client.restoreSnapshot('web', 'clean')).result();
    expect(r).toMatchObject({ boxId: 'web', name: 'clean', baseId: snap.baseId });
    expect(r.released).toContain(cloned.baseId);
    await gcSettled(t.client);

    expect(qemuCheck(disk).status, qemuCheck(disk).output).toBe(0);
    const reader = openReader(t.layout.home);
    try {
      const base = reader.findBase(snap.baseId)!;
      expect(qemuCompare(base.basePath, disk).status, 'the restored disk reads like the snapshot base').toBe(0);
      expect(qemuCompare(golden, disk).status).toBe(0);
      expect(reader.findBase(cloned.baseId)).toBeNull();
      expect(reader.refsOfBox('web')).toEqual([snap.baseId]);
    } finally {
      reader.close();
    }
    expect(await auditHome(t.layout, { goldenOf: new Map([['web', golden]]), noGarbage: true })).toEqual([]);

    // The job refuses what the flow refuses, with the same code.
    await expect((await t.client.restoreSnapshot('web', 'nope')).result()).rejects.toMatchObject({ code: ErrorCodes.UNKNOWN_SNAPSHOT });
  });
});
