/**
 * Through a service, the CLI hands a file over with its own rights: the
 * service reads only its import folders, so `box create --from` and `rootfs
 * import` of a file elsewhere copy it into the import folder first (a qcow2
 * chain flattened by the CLI), and remove the copy once the job is over.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { boxDiskPath, homeLayout } from '../../src/layout.js';
import { goldenImage, runCli, startServe, useCleanup } from '../helpers/pipeline.js';
import { qemuCompare, qemuImg, rawExt4Image, sha256 } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-handover-');
const { killAtEnd } = useCleanup();

describe('cli: files handed over to a service', () => {
  it('box create --from and rootfs import of files outside the import folder work, and leave nothing in it', { timeout: 90_000 }, async () => {
    const dir = tmp();
    const home = join(dir, 'home');
    const elsewhere = join(dir, 'mine');
    mkdirSync(elsewhere);
    // A two-level chain the service could not read for us: the CLI flattens it.
    const base = goldenImage(join(elsewhere, 'base.qcow2'), 0x3d);
    qemuImg(['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, join(elsewhere, 'top.qcow2')]);
    const ext4 = rawExt4Image(join(elsewhere, 'root.ext4'));
    const serve = killAtEnd(await startServe(home, inject('redisUrl')));

    const box = await runCli(['--home', home, 'box', 'create', 'web', '--from', join(elsewhere, 'top.qcow2')]);
    expect(box.status, `${box.stderr}\nserve: ${serve.stderr()}`).toBe(0);
    expect(qemuCompare(join(elsewhere, 'top.qcow2'), boxDiskPath(homeLayout(home), 'web')).status).toBe(0);

    const rootfs = await runCli(['--home', home, 'rootfs', 'import', 'r1', ext4]);
    expect(rootfs.status, rootfs.stderr).toBe(0);
    const reader = openReader(home);
    try {
      expect(sha256(reader.findRootfs('r1')!.basePath)).toBe(sha256(ext4));
    } finally {
      reader.close();
    }
    expect(readdirSync(homeLayout(home).importDir), 'hand-over copies are removed').toEqual([]);
  });
});
