/**
 * box-import on the in-process driver: a box exported from one home imports into another and
 * reads the same bytes (qemu-img compare), a second import reuses every base by digest, and a
 * hostile layout is refused with a typed error naming what is wrong, leaving the home as it was
 * (no box, nothing in bases/ or boxes/, no pending journal entry): a changed byte, a symlinked
 * blob or folder, a layer naming a backing file outside the layout, a blob that is not qcow2, a
 * layer naming the wrong parent, an unknown tag, too many layers.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { listBoxes } from '../../src/db/sql/listBoxes.js';
import { listPendingOps } from '../../src/db/sql/listPendingOps.js';
import { boxDiskPath } from '../../src/layout.js';
import { ANN, MEDIA_CONFIG, MEDIA_LAYER, MEDIA_MANIFEST, REF_NAME } from '../../src/oci/layout.js';
import { exportFromHome } from '../../src/producers/oci-export.js';
import type { InProcessDriver } from '../../src/workers/in-process.js';
import { qemuCheck, qemuCompare, qemuCreate, qemuImg, qemuWrite, rawExt4Image } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';
import { patchBytes, u64 } from '../qcow2/helpers.js';

const { newHome, open } = useHomes();
const tmp = useTmpDirs('fp-oci-in-');

/** Home A: box S with data, cloned to C (a base and a disk each), exported as tags S and C. */
async function exported(): Promise<{ a: InProcessDriver; dir: string }> {
  const a = open(newHome());
  makeBox(a, 'S', 0x4e);
  await a.run('clone', { op: newOp('clone'), source: 'S', targets: ['C'] });
  qemuWrite(boxDiskPath(a.layout, 'C'), 0x71, 1 << 20, 65536);
  const dir = join(tmp(), 'layout');
  const reader = openReader(a.layout.home);
  try {
    for (const boxId of ['S', 'C']) exportFromHome(reader, { boxId, dir });
  } finally {
    reader.close();
  }
  return { a, dir };
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blob = (dir: string, digest: string) => join(dir, 'blobs', 'sha256', digest.slice(7));

/** A layout made by hand: these layer files (bottom first) under `tag`, digests right unless told. */
function craft(dir: string, files: string[], o: { parents?: (string | null)[]; tag?: string } = {}): string {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (b: Buffer) => (writeFileSync(blob(dir, sha(b)), b), { digest: sha(b), size: b.length });
  const layers = files.map((f, i, all) => {
    const d = put(readFileSync(f));
    const parent = o.parents ? o.parents[i] : i === 0 ? null : sha(readFileSync(all[i - 1]!));
    return { mediaType: MEDIA_LAYER.qcow2, ...d, annotations: { [ANN.format]: 'qcow2', ...(parent ? { [ANN.parent]: parent } : {}) } };
  });
  const config = { mediaType: MEDIA_CONFIG, ...put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }))) };
  const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_MANIFEST, config, layers, annotations: { [ANN.kind]: 'box' } })));
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MEDIA_MANIFEST, ...manifest, annotations: { [REF_NAME]: o.tag ?? 'x' } }] }));
  return dir;
}

function manifestOf(dir: string, tag: string): { layers: { digest: string }[] } {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
  const m = index.manifests.find((x) => x.annotations[REF_NAME] === tag)!;
  return JSON.parse(readFileSync(blob(dir, m.digest), 'utf8')) as { layers: { digest: string }[] };
}

function expectUntouched(b: InProcessDriver): void {
  expect(listBoxes(b.reader)).toEqual([]);
  expect(readdirSync(b.layout.basesDir)).toEqual([]);
  expect(readdirSync(b.layout.boxesDir)).toEqual([]);
  expect(listPendingOps(b.reader)).toEqual([]);
}

describe('flows: box-import', () => {
  it('imports a box that reads the same bytes; a second import reuses its bases by digest', async () => {
    const { a, dir } = await exported();
    const b = open(newHome());
    const first = await b.run('box-import', { op: newOp('imp'), layout: dir, tag: 'C', boxId: 'C1' });
    expect(first.result.layers.map((l) => l.reused)).toEqual([false]);
    const again = await b.run('box-import', { op: newOp('imp'), layout: dir, tag: 'C', boxId: 'C2' });
    expect(again.result.layers.map((l) => l.reused)).toEqual([true]);
    for (const box of ['C1', 'C2']) {
      expect(qemuCheck(boxDiskPath(b.layout, box)).status).toBe(0);
      expect(qemuCompare(boxDiskPath(b.layout, box), boxDiskPath(a.layout, 'C')).status, box).toBe(0);
    }
    expect(readdirSync(b.layout.basesDir)).toHaveLength(1);
    expect(listPendingOps(b.reader)).toEqual([]);
  });

  it('export refuses a folder inside the home (its blobs would be files no record owns)', async () => {
    const a = open(newHome());
    makeBox(a, 'S');
    const reader = openReader(a.layout.home);
    try {
      expect(() => exportFromHome(reader, { boxId: 'S', dir: a.layout.basesDir })).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }));
    } finally {
      reader.close();
    }
    expect(readdirSync(a.layout.basesDir)).toEqual([]);
  });

  it('a box on a rootfs image: the raw image travels as the bottom layer', async () => {
    const a = open(newHome());
    const work = tmp();
    await a.run('rootfs-import', { op: newOp('rootfs'), key: 'r1', image: rawExt4Image(join(work, 'root.ext4')) });
    await a.run('box-create', { op: newOp('box'), boxId: 'R', rootfs: 'r1' });
    qemuWrite(boxDiskPath(a.layout, 'R'), 0x2f, 0, 65536);
    const reader = openReader(a.layout.home);
    try {
      exportFromHome(reader, { boxId: 'R', dir: join(work, 'layout') });
    } finally {
      reader.close();
    }
    const b = open(newHome());
    await b.run('box-import', { op: newOp('imp'), layout: join(work, 'layout'), boxId: 'R2' });
    expect(qemuCheck(boxDiskPath(b.layout, 'R2')).status).toBe(0);
    expect(qemuCompare(boxDiskPath(b.layout, 'R2'), boxDiskPath(a.layout, 'R')).status).toBe(0);
    expect(readdirSync(b.layout.basesDir).map((f) => f.slice(-5))).toEqual(['.ext4']);
  });

  const hostile: { what: string; code: string; rule?: string; make(dir: string, work: string): { layout: string; tag?: string } }[] = [
    {
      what: 'a layer blob with one byte changed',
      code: 'E_INVALID_ARGUMENT',
      rule: 'digest',
      make: (dir) => {
        const top = manifestOf(dir, 'C').layers.at(-1)!.digest;
        const bytes = readFileSync(blob(dir, top));
        bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
        rmSync(blob(dir, top));
        writeFileSync(blob(dir, top), bytes);
        return { layout: dir, tag: 'C' };
      },
    },
    {
      what: 'a layer blob that is a symlink',
      code: 'E_NOT_A_FILE',
      make: (dir) => {
        const top = manifestOf(dir, 'C').layers.at(-1)!.digest;
        rmSync(blob(dir, top));
        symlinkSync('/etc/hostname', blob(dir, top));
        return { layout: dir, tag: 'C' };
      },
    },
    {
      what: 'a blobs folder that is a symlink out of the layout',
      code: 'E_FORBIDDEN',
      rule: 'outside-layout',
      make: (dir, work) => {
        renameSync(join(dir, 'blobs'), join(work, 'elsewhere'));
        symlinkSync(join(work, 'elsewhere'), join(dir, 'blobs'));
        return { layout: dir, tag: 'C' };
      },
    },
    {
      what: 'a layer naming a backing file outside the layout',
      code: 'E_INVALID_ARGUMENT',
      rule: 'backing',
      make: (_dir, work) => {
        qemuCreate(join(work, 'host.qcow2'), { size: '8M' });
        qemuCreate(join(work, 'top.qcow2'), { backing: join(work, 'host.qcow2') });
        return { layout: craft(join(work, 'crafted'), [join(work, 'top.qcow2')]) };
      },
    },
    {
      what: 'a qcow2 layer that is not qcow2',
      code: 'E_NOT_QCOW2',
      make: (_dir, work) => {
        writeFileSync(join(work, 'junk'), Buffer.alloc(65536, 7));
        return { layout: craft(join(work, 'crafted'), [join(work, 'junk')]) };
      },
    },
    {
      what: 'a layer naming the wrong parent',
      code: 'E_INVALID_ARGUMENT',
      rule: 'parent',
      make: (_dir, work) => {
        qemuCreate(join(work, 'one.qcow2'), { size: '8M' });
        qemuCreate(join(work, 'two.qcow2'), { size: '8M' });
        return { layout: craft(join(work, 'crafted'), [join(work, 'one.qcow2'), join(work, 'two.qcow2')], { parents: [null, `sha256:${'0'.repeat(64)}`] }) };
      },
    },
    // A layer is kept as it is, so qemu reads it with no reader of ours before it: its tables are judged at install.
    ...(
      [
        ['an L2 entry past the end of the file', 'l2', (1n << 63n) | (1n << 36n)],
        ['an L2 entry not cluster aligned', 'l2', (1n << 63n) | 0x50200n],
        ['an L2 entry with a reserved bit', 'l2', (1n << 63n) | 0x50002n],
        ['an L1 entry past the end of the file', 'l1', (1n << 63n) | (1n << 36n)],
        // Its refcounts too: broken ones read fine and fail the box's first write.
        ['refcount 0 for its header cluster', 'refcount block', 0n],
        ['a refcount block past the end of the file', 'refcount table', 1n << 36n],
      ] as const
    ).flatMap(([entry, table, value]) =>
      (['top', 'below the top'] as const).map((where) => ({
        what: `a layer (${where}) with ${entry}`,
        code: 'E_QCOW2_CORRUPT',
        make: (_dir: string, work: string) => {
          const bad = join(work, 'bad.qcow2');
          qemuCreate(bad, { size: '64M' });
          qemuWrite(bad, 0x11, 0, 1 << 20);
          const at = (offset: number) => Number(readFileSync(bad).readBigUInt64BE(offset) & 0x00fffffffffffe00n);
          const tables = { l1: at(40), l2: at(at(40)), 'refcount table': at(48), 'refcount block': at(at(48)) };
          patchBytes(bad, tables[table], u64(value));
          if (where === 'top') return { layout: craft(join(work, 'crafted'), [bad]) };
          const top = join(work, 'top.qcow2');
          qemuImg(['create', '-q', '-u', '-f', 'qcow2', '-F', 'qcow2', '-b', sha(readFileSync(bad)), top, '64M']); // a layer names its parent by digest
          return { layout: craft(join(work, 'crafted'), [bad, top]) };
        },
      })),
    ),
    {
      what: 'a layer with an external data file',
      code: 'E_QCOW2_UNSUPPORTED',
      make: (_dir, work) => {
        qemuImg(['create', '-q', '-f', 'qcow2', '-o', `data_file=${join(work, 'data.raw')}`, join(work, 'df.qcow2'), '8M']);
        return { layout: craft(join(work, 'crafted'), [join(work, 'df.qcow2')]) };
      },
    },
    { what: 'an unknown tag', code: 'E_NOT_FOUND', make: (dir) => ({ layout: dir, tag: 'nope' }) },
    {
      what: 'ten layers',
      code: 'E_CHAIN_TOO_DEEP',
      make: (_dir, work) => {
        qemuCreate(join(work, 'one.qcow2'), { size: '8M' });
        return { layout: craft(join(work, 'crafted'), Array(10).fill(join(work, 'one.qcow2'))) };
      },
    },
  ];

  it.each(hostile)('refuses $what, leaving the home as it was', async (h) => {
    const { dir } = await exported();
    const work = tmp();
    const copy = join(work, 'layout');
    cpSync(dir, copy, { recursive: true });
    const { layout, tag } = h.make(copy, work);
    const b = open(newHome());
    const err = await b.run('box-import', { op: newOp('imp'), layout, boxId: 'X', ...(tag ? { tag } : {}) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: h.code, ...(h.rule ? { details: expect.objectContaining({ rule: h.rule }) } : {}) });
    // An image refused is named by its blob in the layout, not by the copy that was removed.
    if (/^E_(NOT_)?QCOW2/.test(h.code)) expect((err as Error).message).toMatch(/\/blobs\/sha256\/[0-9a-f]{64}: /);
    expectUntouched(b);
  });
});
