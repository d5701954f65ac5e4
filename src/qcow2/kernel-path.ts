/**
 * I/O (only for names with `..`): a file name made absolute the way the kernel walks it, which
 * is how qemu opens a backing file (it joins the image's folder and the stored name as text).
 * path.resolve folds `a/L/../x` to `a/x` as text, but when `a/L` is a symlink the kernel goes
 * to the parent of L's target: a reader that folded it would read another file than qemu does,
 * and a copy made from it would hold other bytes. So a `..` is applied to the real folder
 * before it; a name without one folds alike both ways (only `.` and `//` go) and stays pure.
 */
import { realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

export function kernelPath(path: string): string {
  const absolute = isAbsolute(path) ? path : `${process.cwd()}/${path}`;
  const parts = absolute.split('/');
  if (!parts.includes('..')) return resolve(absolute);
  let folder = '/';
  for (const [i, part] of parts.entries()) {
    if (part === '' || part === '.') continue;
    if (part !== '..') {
      folder = folder === '/' ? `/${part}` : `${folder}/${part}`;
      continue;
    }
    const real = realFolder(folder);
    // Not a folder the kernel could step out of (missing, a file, a loop): it fails the lookup
    // there, so the name is kept as given from here on and fails the same way when opened.
    if (real === null) return [folder, ...parts.slice(i)].join('/');
    folder = dirname(real);
  }
  return folder;
}

function realFolder(path: string): string | null {
  try {
    const real = realpathSync.native(path);
    return statSync(real).isDirectory() ? real : null;
  } catch {
    return null;
  }
}
