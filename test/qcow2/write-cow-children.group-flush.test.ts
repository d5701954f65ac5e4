/**
 * writeCowChildrenFlushed (group durability): children written with no fsync
 * each, flushed together with their folders (and a group the caller began);
 * valid children, all or nothing. isPlannedChild: the judge of a child that was written but maybe
 * never flushed, which must refuse what a power cut leaves (empty, short, a
 * header whose refcount block never reached the disk) and accept only a
 * byte-exact child.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { isPlannedChild, readHeader, writeCowChild, writeCowChildrenFlushed } from '../../src/qcow2/index.js';
import { FlushGroup } from '../../src/qcow2/durable.js';
import { planChildOfBase } from '../../src/qcow2/plan-child-of-base.js';
import { qemuCheck, qemuCompare, qemuCreate, qemuWrite, sha256 } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { patchBytes, u64 } from './helpers.js';

const tmp = useTmpDirs('fp-group-');

function baseIn(dir: string, name = 'base.qcow2', pattern = 0x77): string {
  const base = join(dir, name);
  qemuCreate(base, { size: '16M' });
  qemuWrite(base, pattern, 0, 131072);
  return base;
}

describe('writeCowChildrenFlushed', () => {
  it('writes identical, valid children equal to their base, each one the planned child', async () => {
    const dir = tmp();
    const base = baseIn(dir);
    const children = ['a', 'b', 'c'].map((box) => {
      mkdirSync(join(dir, box, 'disks'), { recursive: true });
      return join(dir, box, 'disks', 'container.qcow2');
    });
    const results = await writeCowChildrenFlushed(base, children, { alsoFlush: children.map((c) => join(c, '..', '..')) });
    expect(results.map((r) => r.path)).toEqual(children);
    expect(new Set(children.map((c) => sha256(c))).size).toBe(1);
    const plan = planChildOfBase(base);
    for (const c of children) {
      expect(qemuCheck(c).status).toBe(0);
      expect(qemuCompare(c, base).status).toBe(0);
      expect(isPlannedChild(c, plan)).toBe(true);
    }
  });

  it('a flush that fails rejects naming the path and removes every child it wrote', async () => {
    const dir = tmp();
    const base = baseIn(dir);
    const children = [join(dir, 'c1.qcow2'), join(dir, 'c2.qcow2')];
    const missing = join(dir, 'no-such-folder');
    await expect(writeCowChildrenFlushed(base, children, { alsoFlush: [missing] })).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND, details: { path: missing } });
    expect(children.filter((c) => existsSync(c))).toEqual([]);
  });

  it("a group the caller began is part of the flush: a path of it that cannot be flushed fails the call, which removes every child", async () => {
    const dir = tmp();
    const base = baseIn(dir);
    const children = [join(dir, 'c1.qcow2'), join(dir, 'c2.qcow2')];
    const group = new FlushGroup();
    group.add(dir); // flushed with the children: the call waits for it too
    const missing = join(dir, 'gone-before-its-flush');
    group.add(missing);
    await expect(writeCowChildrenFlushed(base, children, { group })).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND, details: { path: missing } });
    expect(children.filter((c) => existsSync(c))).toEqual([]);
  });

  it('a group resolves once every path added is flushed, and an empty one at once', async () => {
    const dir = tmp();
    const base = baseIn(dir);
    const group = new FlushGroup();
    await group.done();
    const children = ['a', 'b'].map((name) => join(dir, `${name}.qcow2`));
    const results = await writeCowChildrenFlushed(base, children, { group, alsoFlush: [dir] });
    expect(results.map((r) => r.path)).toEqual(children);
    await group.done(); // settled already: nothing left in flight
    for (const c of children) expect(qemuCheck(c).status).toBe(0);
  });

  it('refuses an existing child path, leaves that file alone and removes the others it wrote', async () => {
    const dir = tmp();
    const base = baseIn(dir);
    const children = [join(dir, 'c1.qcow2'), join(dir, 'taken.qcow2'), join(dir, 'c3.qcow2')];
    writeFileSync(children[1]!, 'someone else');
    await expect(writeCowChildrenFlushed(base, children)).rejects.toMatchObject({ code: ErrorCodes.ALREADY_EXISTS, details: { path: children[1] } });
    expect(children.filter((c) => existsSync(c))).toEqual([children[1]]);
    expect(readFileSync(children[1]!, 'utf8')).toBe('someone else');
  });
});

describe('isPlannedChild: what a power cut can leave of a child that was not flushed', () => {
  function child(): { base: string; path: string; plan: ReturnType<typeof planChildOfBase> } {
    const dir = tmp();
    const base = baseIn(dir);
    const path = join(dir, 'child.qcow2');
    writeCowChild(base, path, { fsync: false });
    return { base, path, plan: planChildOfBase(base) };
  }

  it('accepts the child as written', () => {
    const { path, plan } = child();
    expect(isPlannedChild(path, plan)).toBe(true);
  });

  it('refuses a symlink to a valid child (not a file we wrote)', () => {
    const { path, plan } = child();
    const link = `${path}.link`;
    symlinkSync(path, link);
    expect(isPlannedChild(link, plan)).toBe(false);
  });

  it('refuses a missing, an empty and a short file', () => {
    const { path, plan } = child();
    truncateSync(path, 4096);
    expect(isPlannedChild(path, plan)).toBe(false);
    truncateSync(path, 0);
    expect(isPlannedChild(path, plan)).toBe(false);
    expect(isPlannedChild(`${path}.gone`, plan)).toBe(false);
  });

  it('refuses a child whose header reached the disk but not its refcount block, which still parses', () => {
    const { path, plan } = child();
    const refcountBlock = plan.writes[plan.writes.length - 1]!;
    patchBytes(path, refcountBlock.offset, Buffer.alloc(refcountBlock.bytes.length));
    expect(readHeader(path).header.backingFile).toBe(plan.spec.backingPath); // a header check would trust it
    expect(qemuCheck(path).status).not.toBe(0); // qemu does not
    expect(isPlannedChild(path, plan)).toBe(false);
  });

  it('refuses a non-zero L1 entry (it would map guest data) and the child of another base', () => {
    const { path, plan } = child();
    patchBytes(path, plan.l1TableOffset, u64(0x80000000_00050000n));
    expect(isPlannedChild(path, plan)).toBe(false);
    const other = child();
    const otherBase = baseIn(join(other.base, '..'), 'other.qcow2', 0x11);
    expect(isPlannedChild(other.path, planChildOfBase(otherBase))).toBe(false);
  });
});
