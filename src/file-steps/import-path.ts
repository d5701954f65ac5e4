/**
 * Where a file that a request names may be read from (DESIGN invariant 7). A
 * service often runs as root, so a path a caller names is read only if it
 * lies in one of the operator's import folders (canonicalised: no `..` or
 * symlink escape), is a regular file, and every file of its backing chain
 * lies in an import folder too or is a base of this home. Each backing file
 * is checked by name before it is opened, and again as opened (its fd: where
 * the kernel took the name), before its header is read: nothing outside is
 * read, not even a header, even when a name is swapped between the two. The
 * HTTP pre-check and the job's file task both run this; the readers that
 * follow (flatten, the raw copy) judge the files they open the same way.
 */
import { fstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { ErrorCodes, ForkpointError, fromFsError } from '../errors.js';
import type { HomeLayout } from '../layout.js';
import { backingFiles } from './backing-walk.js';
import { isBaseFile } from './paths.js';
import { openedPath } from './raw-files.js';
import type { AdmitLayer } from '../qcow2/chain.js';
import { refuseForeignHardLink } from '../qcow2/hard-links.js';

/** The import folders, canonical (a folder that does not exist yet confines to its resolved path). */
export function canonicalImportDirs(dirs: readonly string[]): string[] {
  return dirs.map((d) => {
    try {
      return realpathSync.native(d);
    } catch {
      return resolve(d);
    }
  });
}

const isMissing = (err: unknown): boolean => ['ENOENT', 'ENOTDIR', 'EACCES', 'ELOOP'].includes((err as NodeJS.ErrnoException).code ?? '');

/**
 * Where `path` leads as far as it exists: its existing part canonical, each symlink on the way
 * followed by its text, the missing rest appended. So a name that leads out of the import folders
 * is known for one whether or not its target exists, and a caller cannot tell the two apart.
 */
function whereItLeads(path: string, links = 0): string {
  try {
    return realpathSync.native(path);
  } catch (err) {
    if (!isMissing(err) || links > 40) return path;
  }
  let target: string | null = null;
  try {
    target = readlinkSync(path);
  } catch {
    // not a symlink, or not there: its parent says where it would be
  }
  if (target !== null) return whereItLeads(resolve(dirname(path), target), links + 1);
  const parent = dirname(path);
  return parent === path ? path : join(whereItLeads(parent, links), basename(path));
}

/** The rule both checks share: which real paths are inside, and the refusal naming a file. */
function importRule(importDirs: readonly string[], path: string, field: string) {
  const dirs = canonicalImportDirs(importDirs);
  const allowed = (real: string) => dirs.some((d) => real.startsWith(d.endsWith(sep) ? d : d + sep));
  const refuse = (current: string, depth: number, opened?: string) => {
    const what = depth === 0 ? current : `${current} (the backing file of ${path}, ${depth} level${depth > 1 ? 's' : ''} down)`;
    const how = opened === undefined ? '' : `, opened it is ${opened} (the name was changed after it was checked)`;
    return new ForkpointError(ErrorCodes.FORBIDDEN, `${field}: ${what} is outside the import folders (${dirs.join(', ')})${how}; copy the image into one of them, or upload it`, {
      field,
      path: current,
      importDirs: dirs,
      ...(opened === undefined ? {} : { opened }),
    });
  };
  return { dirs, allowed, refuse };
}

/**
 * The same rule for a file already open, applied to where the kernel took the name (its
 * /proc/self/fd link) and to what it is (fstat): for the readers that open each layer once
 * (flatten's ChainReader), so a name swapped after confineImport checked it (a symlink or
 * another file renamed into place) is refused before a byte of it is read. Once a layer is a
 * base of this home, the rest of the chain is bases (checked when they were made).
 */
export function admitOpenedImport(layout: HomeLayout, path: string, importDirs: readonly string[], field: string): AdmitLayer {
  const { allowed, refuse } = importRule(importDirs, path, field);
  let pastBase = false;
  return (fd, name, depth) => {
    if (pastBase) return;
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ForkpointError(ErrorCodes.NOT_A_FILE, `${field}: ${name} is not a regular file`, { field, path: name });
    const real = openedPath(fd, name);
    if (depth > 0 && isBaseFile(layout, real)) {
      pastBase = true;
      return;
    }
    if (!allowed(real)) throw refuse(name, depth, real);
    refuseForeignHardLink(st.nlink, name, field);
  };
}

/** Refuse `path` (named in the request's `field`) unless it and its whole backing chain may be read; see above. */
export function confineImport(layout: HomeLayout, path: string, importDirs: readonly string[], field: string): void {
  const { allowed, refuse } = importRule(importDirs, path, field);
  /** Whether the walk may go on past `current` (false: a base of this home, checked when it was made). */
  const check = (current: string, depth: number): boolean => {
    // By name first: a path outside is refused before the file system is asked anything about it
    // (not even whether it exists, which would tell a caller about files it cannot see).
    if (!allowed(current) && !(depth > 0 && isBaseFile(layout, current))) throw refuse(current, depth);
    let real: string;
    try {
      // realpath(3), where the kernel takes the name (Node's JS realpath folds a link's target as
      // text: a link to "L/../f" with L a link elsewhere would be checked as one file, opened as another).
      real = realpathSync.native(current);
    } catch (err) {
      // Missing, or past a folder the service cannot look in: refused as an existing file there
      // would be if its name leads outside, so the answer does not tell whether it exists.
      if (isMissing(err) && !allowed(whereItLeads(current)) && !(depth > 0 && isBaseFile(layout, current))) throw refuse(current, depth);
      throw fromFsError(err, current, field);
    }
    const base = depth > 0 && isBaseFile(layout, real);
    if (!allowed(real) && !base) throw refuse(current, depth);
    if (!statSync(real).isFile()) throw new ForkpointError(ErrorCodes.NOT_A_FILE, `${field}: ${current} is not a regular file`, { field, path: current });
    return !base;
  };
  // Every name below is opened as it is written, so it must be one the text and the kernel agree
  // on: after a symlinked folder, "S/../f" is one file to resolve() and another to open(2).
  if (resolve(path) !== path) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `${field}: ${path} is not a normalised absolute path (no "..", "." or "//")`, { field, path });
  }
  if (!check(path, 0)) return;
  // Each header that names a next file is read through an fd judged as opened (see admitOpenedImport).
  for (const step of backingFiles(path, undefined, admitOpenedImport(layout, path, importDirs, field))) {
    if (step.notAFile) throw step.notAFile;
    if (!check(step.path, step.depth)) return;
  }
}
