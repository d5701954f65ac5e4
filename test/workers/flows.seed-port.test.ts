/** The seed's test module (base_disk.rs), case by case, on real qcow2 files, through the flows. */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BASE_ID_LENGTH } from '../../src/ids.js';
import { addRef } from '../../src/db/sql/addRef.js';
import { dependentBoxes } from '../../src/db/sql/dependentBoxes.js';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { hasDependents } from '../../src/db/sql/hasDependents.js';
import { insertBase } from '../../src/db/sql/insertBase.js';
import { removeAllRefsForBox } from '../../src/db/sql/removeAllRefsForBox.js';
import type { BaseDiskRecord } from '../../src/db/types.js';
import { findParentBase, identifyLayer } from '../../src/file-steps/paths.js';
import { boxDiskPath } from '../../src/layout.js';
import type { InProcessDriver } from '../../src/workers/in-process.js';
import { qemuCheck, qemuCreate } from '../helpers/qemu.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

/** A base record as the seed's tests insert them: straight into the store. */
function insertRecord(d: InProcessDriver, id: string, over: Partial<BaseDiskRecord> = {}): string {
  const path = join(d.layout.basesDir, `${id}.qcow2`);
  insertBase(d.writer.connection, {
    id,
    sourceBoxId: 'src',
    name: null,
    kind: 'clone_base',
    state: 'ready',
    basePath: path,
    containerDiskBytes: 0,
    sizeBytes: 0,
    parentId: null,
    opId: 'test',
    tombstoned: false,
    createdAt: 0,
    ...over,
  });
  return path;
}

const baseOf = (d: InProcessDriver, id: string): BaseDiskRecord => findBaseById(d.reader, id)!;
/** The seed's create_base_disk(kind snapshot): the snapshot-create flow. */
const snapshot = async (d: InProcessDriver, boxId: string, name: string) =>
  baseOf(d, (await d.run('snapshot-create', { op: newOp('snap'), boxId, name })).result.baseId);
/** The seed's create_base_disk(kind clone_base): a clone base exists only with a target, so the clone flow with one. */
const cloneBase = async (d: InProcessDriver, source: string, target: string) =>
  baseOf(d, (await d.run('clone', { op: newOp('clone'), source, targets: [target] })).result.baseId);

/** The seed's try_gc_base: the gc flow on `baseId`, then the cascade it asked for. Returns the ids collected, in order. */
async function tryGcBase(d: InProcessDriver, baseId: string): Promise<string[]> {
  const { result, collected } = await d.run('gc', { baseId });
  return result.collected ? [baseId, ...collected] : collected;
}

describe('seed: create_base_disk', () => {
  it('moves the disk into bases/ and leaves a COW child', async () => {
    const d = open(newHome());
    const disk = makeBox(d, 'box-1');
    const base = await snapshot(d, 'box-1', 'snap-1');
    expect(existsSync(disk)).toBe(true);
    expect(qemuCheck(disk).status).toBe(0);
    expect(existsSync(base.basePath)).toBe(true);
    expect(dirname(base.basePath)).toBe(d.layout.basesDir);
    expect(basename(base.basePath)).toBe(`${base.id}.qcow2`);
    expect(identifyLayer(d.layout, dirname(disk))).toBe(base.basePath);
    const found = findBaseById(d.reader, base.id)!;
    expect(found.kind).toBe('snapshot');
    expect(found.name).toBe('snap-1');
  });

  it('adds a ref for the source box', async () => {
    const d = open(newHome());
    makeBox(d, 'box-1');
    const base = await cloneBase(d, 'box-1', 'clone-1');
    expect(hasDependents(d.reader, base.id)).toBe(true);
    expect([...dependentBoxes(d.reader, base.id)].sort()).toEqual(['box-1', 'clone-1']); // the source, and the clone's target
  });

  it('uses an 8-character base id', async () => {
    const d = open(newHome());
    makeBox(d, 'box-1');
    const base = await snapshot(d, 'box-1', 'snap-1');
    expect(base.id).toHaveLength(BASE_ID_LENGTH);
    expect(base.basePath.endsWith(`${base.id}.qcow2`)).toBe(true);
  });

  it('tracks ancestry in the backing chain and in the record', async () => {
    const d = open(newHome());
    makeBox(d, 'box-1');
    const bd1 = await cloneBase(d, 'box-1', 'clone-1');
    const bd2 = await cloneBase(d, 'box-1', 'clone-2');
    expect(findParentBase(d.layout, bd2.basePath)).toBe(bd1.basePath);
    expect(bd2.parentId).toBe(bd1.id);
    expect(findBaseById(d.reader, bd1.id)).not.toBeNull();
  });
});

describe('seed: find_parent_base and identify_layer', () => {
  it('finds the first backing file in bases/, or none for a standalone image', () => {
    const home = newHome();
    const d = open(home);
    const baseFile = join(d.layout.basesDir, 'layer001.qcow2');
    qemuCreate(baseFile, { size: '1M' });
    const child = join(home, 'test.qcow2');
    qemuCreate(child, { backing: baseFile });
    expect(findParentBase(d.layout, child)).toBe(baseFile);
    const standalone = join(home, 'standalone.qcow2');
    qemuCreate(standalone, { size: '1M' });
    expect(findParentBase(d.layout, standalone)).toBeNull();
    // a look-alike folder is not bases/
    const elsewhere = join(home, 'bases2');
    mkdirSync(elsewhere);
    qemuCreate(join(elsewhere, 'x.qcow2'), { size: '1M' });
    qemuCreate(join(home, 'c2.qcow2'), { backing: join(elsewhere, 'x.qcow2') });
    expect(findParentBase(d.layout, join(home, 'c2.qcow2'))).toBeNull();
  });

  it('identifies the layer a box disk references', () => {
    const d = open(newHome());
    const baseFile = join(d.layout.basesDir, 'layer042.qcow2');
    qemuCreate(baseFile, { size: '1M' });
    const disk1 = boxDiskPath(d.layout, 'box-1');
    mkdirSync(dirname(disk1), { recursive: true });
    qemuCreate(disk1, { backing: baseFile });
    expect(identifyLayer(d.layout, dirname(disk1))).toBe(baseFile);
    const disk2 = boxDiskPath(d.layout, 'box-2');
    mkdirSync(dirname(disk2), { recursive: true });
    qemuCreate(disk2, { size: '1M' });
    expect(identifyLayer(d.layout, dirname(disk2))).toBeNull();
    expect(identifyLayer(d.layout, join(d.layout.boxesDir, 'nobox', 'disks'))).toBeNull();
  });
});

describe('seed: try_gc_base', () => {
  it('collects a single level once its last ref goes', async () => {
    const d = open(newHome());
    const file = insertRecord(d, 'base0001');
    qemuCreate(file, { size: '1M' });
    addRef(d.writer.connection, 'base0001', 'clone-1', 0);
    removeAllRefsForBox(d.writer.connection, 'clone-1');
    expect(await tryGcBase(d, 'base0001')).toEqual(['base0001']);
    expect(findBaseById(d.writer.connection, 'base0001')).toBeNull();
    expect(existsSync(file)).toBe(false);
  });

  it('cascades to the parent', async () => {
    const d = open(newHome());
    const f1 = insertRecord(d, 'base0001');
    qemuCreate(f1, { size: '1M' });
    const f2 = insertRecord(d, 'base0002', { sourceBoxId: 'clone-of-src', parentId: 'base0001' });
    qemuCreate(f2, { backing: f1 });
    expect(await tryGcBase(d, 'base0002')).toEqual(['base0002', 'base0001']);
    expect(existsSync(f2)).toBe(false);
    expect(existsSync(f1)).toBe(false);
    expect(findBaseById(d.writer.connection, 'base0001')).toBeNull();
  });

  it('skips snapshots', async () => {
    const d = open(newHome());
    const f = insertRecord(d, 'snap0001', { kind: 'snapshot', name: 'my-snapshot', sourceBoxId: 'box-1' });
    qemuCreate(f, { size: '1M' });
    expect(await tryGcBase(d, 'snap0001')).toEqual([]);
    expect(findBaseById(d.writer.connection, 'snap0001')).not.toBeNull();
    expect(existsSync(f)).toBe(true);
  });

  it('preserves a base while any box depends on it', async () => {
    const d = open(newHome());
    const f = insertRecord(d, 'shared01');
    qemuCreate(f, { size: '1M' });
    addRef(d.writer.connection, 'shared01', 'clone-1', 0);
    addRef(d.writer.connection, 'shared01', 'clone-2', 0);
    removeAllRefsForBox(d.writer.connection, 'clone-1');
    expect(await tryGcBase(d, 'shared01')).toEqual([]);
    expect(existsSync(f)).toBe(true);
    removeAllRefsForBox(d.writer.connection, 'clone-2');
    expect(await tryGcBase(d, 'shared01')).toEqual(['shared01']);
    expect(existsSync(f)).toBe(false);
  });

  it('never deletes a file outside bases/ whatever the record says (invariant 5)', async () => {
    const home = newHome();
    const d = open(home);
    const outside = join(home, 'precious.qcow2');
    qemuCreate(outside, { size: '1M' });
    insertRecord(d, 'evil0001', { basePath: outside });
    await expect(tryGcBase(d, 'evil0001')).rejects.toThrow(/refusing to delete/);
    expect(existsSync(outside)).toBe(true);
  });
});
