import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BaseDiskManager } from '../../src/db/manager.js';
import { recover } from '../../src/db/recovery/index.js';
import { boxDiskPath } from '../../src/layout.js';
import { qemuCreate } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-recover-mode-');

describe('recovery: bases are read-only (invariant 6)', () => {
  it('reports a writable base in a dry run, and makes it 0444 when repairing', () => {
    const home = tmp();
    const mgr = BaseDiskManager.open(home, { fsync: false });
    const disk = boxDiskPath(mgr.layout, 'src');
    mkdirSync(dirname(disk), { recursive: true });
    qemuCreate(disk, { size: '8M' });
    mgr.adoptBox('src');
    const base = mgr.createBaseDisk('src', 'clone_base');
    mgr.close();
    expect(statSync(base.basePath).mode & 0o777).toBe(0o444);

    chmodSync(base.basePath, 0o644); // as if the chmod was lost in a crash
    const dry = recover(home, { repair: false });
    expect(dry.problems.map((p) => p.problem).join('\n')).toMatch(/mode 644, not read-only/);
    expect(statSync(base.basePath).mode & 0o777).toBe(0o644);

    const fixed = recover(home, { repair: true });
    expect(fixed.problems.some((p) => p.repaired && /read-only/.test(p.action))).toBe(true);
    expect(statSync(base.basePath).mode & 0o777).toBe(0o444);
    expect(recover(home, { repair: false }).problems).toEqual([]);
  });
});
