/**
 * rootfs-import keeps a sparse image sparse in bases/ (a plain copy wrote its
 * holes out), and a key already in the cache is taken again only for the same
 * bytes: other content under it is a conflict that changes nothing.
 */
import { closeSync, copyFileSync, openSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ForkpointError } from '../../src/errors.js';
import { qemuImg, rawExt4Image, sha256 } from '../helpers/qemu.js';
import { filesOf, recordsOf } from '../db/support/files.js';
import { newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

/** Files that are not a rootfs image, each made in a folder, with the problem it is refused for. */
const NOT_ROOTFS: { what: string; make: (dir: string) => string; problem: string }[] = [
  { what: 'an empty file', make: (d) => (writeFileSync(join(d, 'e.ext4'), ''), join(d, 'e.ext4')), problem: 'size 0 is not a positive multiple of 512 bytes' },
  { what: 'data with no superblock', make: (d) => (writeFileSync(join(d, 'r.ext4'), Buffer.alloc(1 << 20, 0x5a)), join(d, 'r.ext4')), problem: 'no ext2/3/4 superblock (magic 0xEF53 at byte 1080)' },
  {
    what: 'a qcow2 image named .ext4',
    make: (d) => {
      qemuImg(['create', '-q', '-f', 'qcow2', join(d, 'q.ext4'), '16M']);
      truncateSync(join(d, 'q.ext4'), 4 << 16); // whole sectors, so the magic is what is judged
      return join(d, 'q.ext4');
    },
    problem: 'it is a qcow2 image, not a raw filesystem image',
  },
  {
    what: 'an ext4 image cut short (32 MiB of filesystem in 8 MiB)',
    make: (d) => {
      const image = rawExt4Image(join(d, 'cut.ext4'), 32);
      truncateSync(image, 8 << 20);
      return image;
    },
    problem: `truncated: its superblock says the filesystem spans ${32 << 20} bytes, the file has ${8 << 20}`,
  },
  {
    what: 'a superblock with a block size ext4 does not have',
    make: (d) => {
      const image = rawExt4Image(join(d, 'bs.ext4'), 16);
      const fd = openSync(image, 'r+');
      writeSync(fd, Buffer.from([30, 0, 0, 0]), 0, 4, 1024 + 0x18);
      closeSync(fd);
      return image;
    },
    problem: "its superblock's block size (1024 << 30) is not one ext4 has",
  },
];

describe('flows: rootfs import', () => {
  it.each(NOT_ROOTFS)('refuses $what, naming the problem, and changes nothing', async (c) => {
    const home = newHome();
    const d = open(home);
    const before = { files: filesOf(home, ['bases', 'boxes']), records: recordsOf(home) };
    const image = c.make(join(home, '..'));
    const err = await d.run('rootfs-import', { op: newOp('rootfs'), key: 'r1', image }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForkpointError);
    expect(err).toMatchObject({ code: 'E_INVALID_ARGUMENT', details: { field: 'image' } });
    expect((err as Error).message).toBe(`${image}: not a raw ext4 image: ${c.problem}`);
    expect({ files: filesOf(home, ['bases', 'boxes']), records: recordsOf(home) }).toEqual(before);
  });

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
