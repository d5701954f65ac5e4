/**
 * The rootfs cache through the queues: a raw image imported under a key,
 * boxes made as qcow2 overlays of it (backing format raw), never collected
 * by GC, removed only explicitly and only once nothing reads it.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { boxDiskPath } from '../../src/layout.js';
import { gcSettled, useTestPipelines } from '../helpers/pipeline.js';
import { qemuCheck, qemuCompare, qemuInfo, qemuWrite, rawExt4Image, sha256 } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-rootfs-');
const startPipeline = useTestPipelines();

describe('pipeline: the rootfs cache', () => {
  it('imports a raw image, makes boxes on it, keeps it through GC, removes it only when unread', async () => {
    const dir = tmp();
    const t = await startPipeline(dir);
    const raw = rawExt4Image(join(dir, 'debian.ext4'));

    const imported = await (await t.client.importRootfs('debian-12', raw)).result();
    expect(imported.imported).toBe(true);
    expect(imported.basePath).toBe(join(t.layout.basesDir, `${imported.baseId}.ext4`));
    expect(sha256(imported.basePath)).toBe(sha256(raw));
    expect(statSync(imported.basePath).mode & 0o777).toBe(0o400);
    // The same key again keeps the first import.
    expect(await (await t.client.importRootfs('debian-12', raw)).result()).toMatchObject({ baseId: imported.baseId, imported: false });

    for (const id of ['r1', 'r2']) await (await t.client.createBox(id, { rootfs: 'debian-12' })).result();
    for (const id of ['r1', 'r2']) {
      const disk = boxDiskPath(t.layout, id);
      expect(qemuCheck(disk).status, qemuCheck(disk).output).toBe(0);
      expect(qemuInfo(disk)['backing-filename-format']).toBe('raw');
      expect(qemuCompare(raw, disk).status).toBe(0);
    }
    const baseBytes = sha256(imported.basePath);
    qemuWrite(boxDiskPath(t.layout, 'r1'), 0xcd, 0, 65536);
    expect(sha256(imported.basePath)).toBe(baseBytes);

    await expect((await t.client.removeRootfs('debian-12')).result()).rejects.toMatchObject({ code: 'E_HAS_DEPENDENTS' });
    await expect((await t.client.createBox('r3', { rootfs: 'no-such-key' })).result()).rejects.toMatchObject({ code: 'E_UNKNOWN_BASE' });
    // Only raw ext4 images enter the cache: not a qcow2 image, not an arbitrary host file, not a FIFO.
    const qcow2 = join(dir, 'disk.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', qcow2, '1M']);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    for (const image of [qcow2, '/etc/passwd', fifo, dir]) {
      await expect((await t.client.importRootfs(`bad-${image.length}`, image)).result()).rejects.toMatchObject({
        message: expect.stringContaining(image),
      });
    }
    expect(readdirSync(t.layout.basesDir).sort()).toEqual([`${imported.baseId}.ext4`]);

    for (const id of ['r1', 'r2']) await (await t.client.removeBox(id)).result();
    await (await t.client.gc()).result();
    await gcSettled(t.client);
    expect(readdirSync(t.layout.basesDir)).toEqual([`${imported.baseId}.ext4`]); // never collected by GC

    expect(await (await t.client.removeRootfs('debian-12')).result()).toMatchObject({ removed: true });
    expect(readdirSync(t.layout.basesDir)).toEqual([]);
    const reader = openReader(t.layout.home);
    try {
      expect(reader.listBases({ includeTombstoned: true })).toEqual([]);
      expect(reader.listBoxes()).toEqual([]);
    } finally {
      reader.close();
    }
  });
});
