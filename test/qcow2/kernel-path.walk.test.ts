/** kernelPath: a name made absolute as the kernel walks it, judged against the kernel's own walk (realpath of the name as given). */
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelPath } from '../../src/qcow2/kernel-path.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-kernel-path-');

/** top/x, other/x, other/sub, top/L → ../other/sub, top/F a file. */
function tree(): string {
  const d = realpathSync(tmp());
  mkdirSync(join(d, 'top'));
  mkdirSync(join(d, 'other', 'sub'), { recursive: true });
  writeFileSync(join(d, 'top', 'x'), 'top');
  writeFileSync(join(d, 'other', 'x'), 'other');
  writeFileSync(join(d, 'top', 'F'), 'a file');
  symlinkSync('../other/sub', join(d, 'top', 'L'));
  return d;
}

describe('kernelPath', () => {
  const opened = [
    { name: 'a `..` after a symlink leaves its target, not the link', path: 'top/L/../x', expect: 'other/x' },
    { name: 'two `..` after a symlink', path: 'top/L/../../top/x', expect: 'top/x' },
    { name: 'a `..` after a plain folder', path: 'other/sub/../x', expect: 'other/x' },
    { name: '`.` and doubled slashes', path: 'top/./L//../x', expect: 'other/x' },
  ];
  for (const c of opened) {
    it(`${c.name}: the file the kernel opens`, () => {
      const d = tree();
      const got = kernelPath(`${d}/${c.path}`);
      expect(got).toBe(join(d, c.expect));
      expect(got).toBe(realpathSync.native(`${d}/${c.path}`)); // the kernel's walk of the text as given (realpathSync without .native folds `..` as text too)
    });
  }

  it('makes a relative name absolute from the current folder', () => {
    const d = tree();
    const cwd = process.cwd();
    process.chdir(join(d, 'top'));
    try {
      expect(kernelPath('L/../x')).toBe(join(d, 'other', 'x'));
      expect(kernelPath('x')).toBe(join(d, 'top', 'x'));
    } finally {
      process.chdir(cwd);
    }
  });

  it('keeps a name the kernel cannot walk as given, so opening it fails as it would (a `..` after a missing folder or a file)', () => {
    const d = tree();
    for (const rest of ['top/gone/../x', 'top/F/../x']) {
      const got = kernelPath(`${d}/${rest}`);
      expect(got).toBe(`${d}/${rest}`);
      expect(() => realpathSync.native(got)).toThrow(/ENOENT|ENOTDIR/);
    }
  });

  it('reads no folder for a name without `..` (folded as text, even when nothing is there)', () => {
    expect(kernelPath('/nowhere/at/./all//x')).toBe('/nowhere/at/all/x');
  });
});
