/** `forkpoint snapshot restore BOX NAME` from the built CLI: the disk reads like the snapshot again; bad input changes nothing. */
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { boxDiskPath, homeLayout } from '../../src/layout.js';
import { runCli } from '../helpers/pipeline.js';
import { qemuCheck, qemuCompare, qemuWrite, sha256 } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-cli-restore-');

describe('cli: snapshot restore', () => {
  it('restores, refuses an unknown snapshot (disk untouched), prints --json', { timeout: 90_000 }, async () => {
    const home = join(tmp(), 'home');
    const fp = (...args: string[]) => runCli(['--home', home, '--redis', inject('redisUrl'), ...args]);
    expect((await fp('box', 'create', 'web', '--size', '4M')).status).toBe(0);
    const snap = JSON.parse((await fp('--json', 'snapshot', 'create', 'web', 'v1')).stdout) as { baseId: string };
    const disk = boxDiskPath(homeLayout(home), 'web');
    qemuWrite(disk, 0x5e, 0, 65536);
    const before = sha256(disk);

    const unknown = await fp('snapshot', 'restore', 'web', 'v2');
    expect([unknown.status === 0, unknown.stderr.includes('[E_UNKNOWN_SNAPSHOT]')], unknown.stderr).toEqual([false, true]);
    expect(sha256(disk)).toBe(before);

    const r = await fp('--json', 'snapshot', 'restore', 'web', 'v1', '--check-in-use');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ boxId: 'web', name: 'v1', baseId: snap.baseId });
    const reader = openReader(home);
    try {
      const base = reader.findBase(snap.baseId)!;
      expect(qemuCheck(disk).status).toBe(0);
      expect(qemuCompare(base.basePath, disk).status).toBe(0);
      expect(reader.findBox('web')?.baseId).toBe(snap.baseId);
    } finally {
      reader.close();
    }
  });
});
