/**
 * rootfs-import keeps a sparse image sparse in bases/ (a plain copy wrote its
 * holes out), and a key already in the cache is taken again only for the same
 * bytes: other content under it is a conflict that changes nothing.
 */
import { copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ForkpointError } from '../../src/errors.js';
import { rawExt4Image, sha256 } from '../helpers/qemu.js';
import { filesOf, recordsOf } from '../db/support/files.js';
import { newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

describe('flows: rootfs import', () => {
  it('keeps holes: the copy reads the same bytes and allocates about what the source does', async () => {
    const home = newHome();
    const image = rawExt4Image(join(home, '..', `sparse-${process.pid}.ext4`), 64);
    const src = statSync(image);
    expect(src.blocks * 512, 'mkfs.ext4 left the image sparse, or this proves nothing').toBeLessThan(src.size / 2);
    const d = open(home);
    const { result } = await d.run('rootfs-import', { op: newOp('rootfs'), key: 'r1', image });
    const copy = statSync(result.basePath);
    expect(sha256(result.basePath)).toBe(sha256(image));
    expect(copy.size).toBe(src.size);
    expect(copy.blocks * 512).toBeLessThanOrEqual(src.blocks * 512 + (1 << 20));
  });

  it('takes a key again for the same bytes, refuses other bytes under it, and a retry of the import is the import', async () => {
    const home = newHome();
    const image = rawExt4Image(join(home, '..', `a-${process.pid}.ext4`), 16, 0x11);
    const d = open(home);
    const op = newOp('rootfs');
    const first = await d.run('rootfs-import', { op, key: 'r1', image });
    expect(first.result.imported).toBe(true);
    expect((await d.run('rootfs-import', { op, key: 'r1', image })).result).toEqual(first.result); // the same request again

    const same = join(home, '..', `a-copy-${process.pid}.ext4`);
    copyFileSync(image, same);
    expect((await d.run('rootfs-import', { op: newOp('again'), key: 'r1', image: same })).result).toMatchObject({ baseId: first.result.baseId, imported: false });

    const other = rawExt4Image(join(home, '..', `b-${process.pid}.ext4`), 16, 0x22);
    const before = { files: filesOf(home), records: recordsOf(home) };
    const err = await d.run('rootfs-import', { op: newOp('other'), key: 'r1', image: other }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForkpointError);
    expect((err as ForkpointError).code).toBe('E_CONFLICT');
    expect((err as ForkpointError).message).toContain(first.result.baseId);
    expect({ files: filesOf(home), records: recordsOf(home) }).toEqual(before);
  });
});

describe('file steps: a raw import checks the file it opened', () => {
  it('refuses a source that, once opened, is outside the import folders (a name swapped after the first check)', async () => {
    const { importRawStep } = await import('../../src/file-steps/steps.js');
    const { confineImport } = await import('../../src/file-steps/import-path.js');
    const { homeLayout } = await import('../../src/layout.js');
    const { mkdirSync, symlinkSync, existsSync } = await import('node:fs');
    const home = newHome();
    const inside = join(home, '..', `imp-${process.pid}`);
    mkdirSync(inside);
    const outsideImage = rawExt4Image(join(home, '..', `private-${process.pid}.ext4`), 16, 0x33);
    // What the name pointed at when it was checked is gone: now it leads outside.
    symlinkSync(outsideImage, join(inside, 'swapped.ext4'));
    const dest = join(home, `Abcd1234.ext4`);
    const err = (() => {
      try {
        importRawStep(join(inside, 'swapped.ext4'), dest, { fsync: false, opened: (real) => confineImport(homeLayout(home), real, [inside], 'image') });
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect((err as ForkpointError).code).toBe('E_FORBIDDEN');
    expect((err as ForkpointError).details.path).toBe(outsideImage);
    expect(existsSync(dest)).toBe(false);
  });
});
