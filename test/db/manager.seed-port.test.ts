/** The seed's test module (base_disk.rs), case by case, on real qcow2 files. */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BASE_ID_LENGTH } from '../../src/ids.js';
import { addRef } from '../../src/db/sql/addRef.js';
import { dependentBoxes } from '../../src/db/sql/dependentBoxes.js';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { hasDependents } from '../../src/db/sql/hasDependents.js';
import { insertBase } from '../../src/db/sql/insertBase.js';
import { removeAllRefsForBox } from '../../src/db/sql/removeAllRefsForBox.js';
import type { BaseDiskManager } from '../../src/db/manager.js';
import type { BaseDiskRecord } from '../../src/db/types.js';
import { boxDiskPath } from '../../src/layout.js';
import { qemuCheck, qemuCreate } from '../helpers/qemu.js';
import { makeBox, useManagers } from './support/home.js';
import { mkdirSync } from 'node:fs';

const { newHome, open } = useManagers();

/** A base record as the seed's tests insert them: straight into the store. */
function insertRecord(mgr: BaseDiskManager, id: string, over: Partial<BaseDiskRecord> = {}): string {
  const path = join(mgr.layout.basesDir, `${id}.qcow2`);
  insertBase(mgr.writer.connection, {
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

describe('seed: create_base_disk', () => {
  it('moves the disk into bases/ and leaves a COW child', () => {
    const mgr = open(newHome());
    const disk = makeBox(mgr, 'box-1');
    const base = mgr.createBaseDisk('box-1', 'snapshot', 'snap-1');
    expect(existsSync(disk)).toBe(true);
    expect(qemuCheck(disk).status).toBe(0);
    expect(existsSync(base.basePath)).toBe(true);
    expect(dirname(base.basePath)).toBe(mgr.layout.basesDir);
    expect(basename(base.basePath)).toBe(`${base.id}.qcow2`);
    expect(mgr.identifyLayer(dirname(disk))).toBe(base.basePath);
    const found = findBaseById(mgr.writer.connection, base.id)!;
    expect(found.kind).toBe('snapshot');
    expect(found.name).toBe('snap-1');
  });

  it('adds a ref for the source box', () => {
    const mgr = open(newHome());
    makeBox(mgr, 'box-1');
    const base = mgr.createBaseDisk('box-1', 'clone_base');
    expect(hasDependents(mgr.writer.connection, base.id)).toBe(true);
    expect(dependentBoxes(mgr.writer.connection, base.id)).toEqual(['box-1']);
  });

  it('uses an 8-character base id', () => {
    const mgr = open(newHome());
    makeBox(mgr, 'box-1');
    const base = mgr.createBaseDisk('box-1', 'snapshot', 'snap-1');
    expect(base.id).toHaveLength(BASE_ID_LENGTH);
    expect(base.basePath.endsWith(`${base.id}.qcow2`)).toBe(true);
  });

  it('tracks ancestry in the backing chain and in the record', () => {
    const mgr = open(newHome());
    makeBox(mgr, 'box-1');
    const bd1 = mgr.createBaseDisk('box-1', 'clone_base');
    const bd2 = mgr.createBaseDisk('box-1', 'clone_base');
    expect(mgr.findParentBase(bd2.basePath)).toBe(bd1.basePath);
    expect(bd2.parentId).toBe(bd1.id);
    expect(findBaseById(mgr.writer.connection, bd1.id)).not.toBeNull();
  });
});

describe('seed: find_parent_base and identify_layer', () => {
  it('finds the first backing file in bases/, or none for a standalone image', () => {
    const home = newHome();
    const mgr = open(home);
    const baseFile = join(mgr.layout.basesDir, 'layer001.qcow2');
    qemuCreate(baseFile, { size: '1M' });
    const child = join(home, 'test.qcow2');
    qemuCreate(child, { backing: baseFile });
    expect(mgr.findParentBase(child)).toBe(baseFile);
    const standalone = join(home, 'standalone.qcow2');
    qemuCreate(standalone, { size: '1M' });
    expect(mgr.findParentBase(standalone)).toBeNull();
    // a look-alike folder is not bases/
    const elsewhere = join(home, 'bases2');
    mkdirSync(elsewhere);
    qemuCreate(join(elsewhere, 'x.qcow2'), { size: '1M' });
    qemuCreate(join(home, 'c2.qcow2'), { backing: join(elsewhere, 'x.qcow2') });
    expect(mgr.findParentBase(join(home, 'c2.qcow2'))).toBeNull();
  });

  it('identifies the layer a box disk references', () => {
    const mgr = open(newHome());
    const baseFile = join(mgr.layout.basesDir, 'layer042.qcow2');
    qemuCreate(baseFile, { size: '1M' });
    const disk1 = boxDiskPath(mgr.layout, 'box-1');
    mkdirSync(dirname(disk1), { recursive: true });
    qemuCreate(disk1, { backing: baseFile });
    expect(mgr.identifyLayer(dirname(disk1))).toBe(baseFile);
    const disk2 = boxDiskPath(mgr.layout, 'box-2');
    mkdirSync(dirname(disk2), { recursive: true });
    qemuCreate(disk2, { size: '1M' });
    expect(mgr.identifyLayer(dirname(disk2))).toBeNull();
    expect(mgr.identifyLayer(join(mgr.layout.boxesDir, 'nobox', 'disks'))).toBeNull();
  });
});

describe('seed: try_gc_base', () => {
  it('collects a single level once its last ref goes', () => {
    const mgr = open(newHome());
    const file = insertRecord(mgr, 'base0001');
    qemuCreate(file, { size: '1M' });
    addRef(mgr.writer.connection, 'base0001', 'clone-1', 0);
    removeAllRefsForBox(mgr.writer.connection, 'clone-1');
    expect(mgr.tryGcBase('base0001')).toEqual(['base0001']);
    expect(findBaseById(mgr.writer.connection, 'base0001')).toBeNull();
    expect(existsSync(file)).toBe(false);
  });

  it('cascades to the parent', () => {
    const mgr = open(newHome());
    const f1 = insertRecord(mgr, 'base0001');
    qemuCreate(f1, { size: '1M' });
    const f2 = insertRecord(mgr, 'base0002', { sourceBoxId: 'clone-of-src', parentId: 'base0001' });
    qemuCreate(f2, { backing: f1 });
    expect(mgr.tryGcBase('base0002')).toEqual(['base0002', 'base0001']);
    expect(existsSync(f2)).toBe(false);
    expect(existsSync(f1)).toBe(false);
    expect(findBaseById(mgr.writer.connection, 'base0001')).toBeNull();
  });

  it('skips snapshots', () => {
    const mgr = open(newHome());
    const f = insertRecord(mgr, 'snap0001', { kind: 'snapshot', name: 'my-snapshot', sourceBoxId: 'box-1' });
    qemuCreate(f, { size: '1M' });
    expect(mgr.tryGcBase('snap0001')).toEqual([]);
    expect(findBaseById(mgr.writer.connection, 'snap0001')).not.toBeNull();
    expect(existsSync(f)).toBe(true);
  });

  it('preserves a base while any box depends on it', () => {
    const mgr = open(newHome());
    const f = insertRecord(mgr, 'shared01');
    qemuCreate(f, { size: '1M' });
    addRef(mgr.writer.connection, 'shared01', 'clone-1', 0);
    addRef(mgr.writer.connection, 'shared01', 'clone-2', 0);
    removeAllRefsForBox(mgr.writer.connection, 'clone-1');
    expect(mgr.tryGcBase('shared01')).toEqual([]);
    expect(existsSync(f)).toBe(true);
    removeAllRefsForBox(mgr.writer.connection, 'clone-2');
    expect(mgr.tryGcBase('shared01')).toEqual(['shared01']);
    expect(existsSync(f)).toBe(false);
  });

  it('never deletes a file outside bases/ whatever the record says (invariant 5)', () => {
    const home = newHome();
    const mgr = open(home);
    const outside = join(home, 'precious.qcow2');
    qemuCreate(outside, { size: '1M' });
    insertRecord(mgr, 'evil0001', { basePath: outside });
    expect(() => mgr.tryGcBase('evil0001')).toThrow(/refusing to delete/);
    expect(existsSync(outside)).toBe(true);
  });
});
