/** writeCowChildren: many valid children of one base, all or nothing. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { writeCowChildren } from '../../src/qcow2/index.js';
import { qemuCheck, qemuCompare, qemuCreate, qemuWrite, sha256 } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { expectImageError } from './helpers.js';

const tmp = useTmpDirs('fp-batch-');

describe('writeCowChildren', () => {
  it('writes identical, valid children into several folders', () => {
    const dir = tmp();
    const base = join(dir, 'base.qcow2');
    qemuCreate(base, { size: '16M' });
    qemuWrite(base, 0x77, 0, 131072);
    const children = ['a', 'b', 'c'].flatMap((box) => {
      mkdirSync(join(dir, box));
      return [join(dir, box, 'disk1.qcow2'), join(dir, box, 'disk2.qcow2')];
    });
    const results = writeCowChildren(base, children);
    expect(results.map((r) => r.path)).toEqual(children);
    const shas = new Set(children.map((c) => sha256(c)));
    expect(shas.size).toBe(1); // same bytes for every child of one base
    for (const c of children) {
      expect(qemuCheck(c).status).toBe(0);
      expect(qemuCompare(c, base).status).toBe(0);
    }
  });

  it('removes the children it created when one fails, and never touches an existing file', () => {
    const dir = tmp();
    const base = join(dir, 'base.qcow2');
    qemuCreate(base, { size: '16M' });
    const children = [join(dir, 'c1.qcow2'), join(dir, 'c2.qcow2'), join(dir, 'taken.qcow2'), join(dir, 'c4.qcow2')];
    writeFileSync(children[2]!, 'someone else');
    expectImageError(() => writeCowChildren(base, children, { fsync: false }), ErrorCodes.ALREADY_EXISTS, children[2]!);
    expect(children.filter((c) => existsSync(c))).toEqual([children[2]]);
    expect(readFileSync(children[2]!, 'utf8')).toBe('someone else');
  });

  it('returns [] for no children', () => {
    const dir = tmp();
    const base = join(dir, 'base.qcow2');
    qemuCreate(base, { size: '1M' });
    expect(writeCowChildren(base, [])).toEqual([]);
  });
});
