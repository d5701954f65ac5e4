/**
 * I/O: the folder an export writes into, checked before anything is written. An export often runs
 * as root, into a folder a user named, somewhere others may write (/tmp): a symlink someone else
 * put there (the layout folder, blobs/, index.json) would make it write, and read, where that
 * points (a root-only folder, the home's bases/). So each part of the layout the export writes in
 * must be a real folder or file of the exporting user's own that nobody else may write into, or
 * not be there yet (then it is made 0700, its files 0600: the disks are private in the home and
 * stay so in the layout). The index already there is read now too, so a broken one is refused
 * before a blob is written.
 */
import { lstatSync, mkdirSync, readFileSync, realpathSync, type Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { ErrorCodes, ForkpointError, fromFsError } from '../errors.js';
import { OCI_INDEX_FILE, OCI_LAYOUT_FILE, type Descriptor } from './layout.js';

export interface ExportFolder {
  /** The layout folder's canonical path. */
  dir: string;
  /** The manifests index.json lists already (none when it is not there). */
  manifests: Descriptor[];
}

const me = (): number => process.getuid?.() ?? -1;

function forbidden(path: string, why: string): ForkpointError {
  return new ForkpointError(ErrorCodes.FORBIDDEN, `${path}: ${why}; export into a folder of your own that only you may write to`, { path, field: 'dir' });
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fromFsError(err, path, 'cannot look at');
  }
}

/** Someone else's, or open to others' writes: they could swap what is in it after this check. */
function refuseUnlessPrivate(path: string, st: Stats): void {
  if (st.isSymbolicLink()) throw forbidden(path, 'is a symlink');
  if (st.uid !== me()) throw forbidden(path, `belongs to uid ${st.uid}, not to this user (uid ${me()})`);
  if ((st.mode & 0o022) !== 0) throw forbidden(path, `others may write in it (mode ${(st.mode & 0o7777).toString(8)})`);
}

function folderOfOurs(path: string): void {
  const st = lstatOrNull(path);
  if (st === null) return void mkdirSync(path, { mode: 0o700 });
  if (!st.isSymbolicLink() && !st.isDirectory()) throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `${path} is not a folder`, { path, field: 'dir' });
  refuseUnlessPrivate(path, st);
}

/** A file the export replaces: a regular file of ours, or nothing yet. */
function fileOfOurs(path: string): boolean {
  const st = lstatOrNull(path);
  if (st === null) return false;
  if (!st.isSymbolicLink() && !st.isFile()) throw new ForkpointError(ErrorCodes.NOT_A_FILE, `${path}: not a regular file`, { path });
  refuseUnlessPrivate(path, st);
  return true;
}

function readManifests(indexPath: string): Descriptor[] {
  let index: unknown;
  try {
    index = JSON.parse(readFileSync(indexPath, 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw notAnIndex(indexPath, `not valid JSON (${err.message})`);
    throw fromFsError(err, indexPath, 'cannot read the existing index');
  }
  if (typeof index !== 'object' || index === null || Array.isArray(index)) throw notAnIndex(indexPath, 'not a JSON object');
  const manifests = (index as { manifests?: unknown }).manifests ?? [];
  if (!Array.isArray(manifests) || !manifests.every((m) => typeof m === 'object' && m !== null && !Array.isArray(m))) {
    throw notAnIndex(indexPath, '"manifests" is not a list of descriptors');
  }
  return manifests as Descriptor[];
}

function notAnIndex(path: string, why: string): ForkpointError {
  return new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `${path}: not an OCI image index: ${why}; export into a new folder, or one holding an OCI layout`, { path, field: 'dir' });
}

/** `dir` checked (and made, if need be) for an export; `home`: the home it must not lie in (its blobs would be files no record owns). */
export function openExportFolder(dir: string, home: string): ExportFolder {
  const given = resolve(dir);
  const top = lstatOrNull(given);
  refuseForeignSymlinks(given);
  // Where it really is (through symlinks in the folders above it too), before anything is made.
  const real = top === null ? realPathToBe(given) : realpathSync(given);
  refuseForeignAncestors(real);
  const rel = relative(home, real);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `${dir} is inside the home ${home}; export to a folder outside it`, { path: dir, field: 'dir' });
  }
  try {
    if (top === null) mkdirSync(real, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fromFsError(err, given, 'cannot make the export folder');
  }
  folderOfOurs(real);
  fileOfOurs(join(real, OCI_LAYOUT_FILE));
  const indexPath = join(real, OCI_INDEX_FILE);
  const manifests = fileOfOurs(indexPath) ? readManifests(indexPath) : [];
  folderOfOurs(join(real, 'blobs'));
  folderOfOurs(join(real, 'blobs', 'sha256'));
  return { dir: real, manifests };
}

/** Root's and ours are trusted; anyone else's could be changed under the export. */
const trusted = (uid: number): boolean => uid === me() || uid === 0;

/**
 * A symlink on the way to the folder (the folder itself or one above it) that someone else made
 * would send the export where they chose: `/tmp/up -> /` makes `/tmp/up/etc` root's /etc. Ours
 * and root's (a system's /var/run) are followed.
 */
function refuseForeignSymlinks(given: string): void {
  for (let at = given; ; at = dirname(at)) {
    const st = lstatOrNull(at);
    if (st?.isSymbolicLink() && !trusted(st.uid)) throw forbidden(at, `is a symlink of uid ${st.uid}'s, on the way to the export folder`);
    if (dirname(at) === at) return;
  }
}

/**
 * Each folder the layout folder really lies in must be root's or ours, and one others may write
 * in must be sticky (/tmp): otherwise its owner, or anyone, could rename the layout folder away
 * and put a symlink in its place between these checks and the writes, which go by path.
 */
function refuseForeignAncestors(real: string): void {
  for (let at = dirname(real); ; at = dirname(at)) {
    const st = lstatOrNull(at);
    if (st !== null) {
      if (!trusted(st.uid)) throw forbidden(at, `belongs to uid ${st.uid}, and the export folder lies in it`);
      if ((st.mode & 0o002) !== 0 && (st.mode & 0o1000) === 0) throw forbidden(at, `anyone may rename what is in it (mode ${(st.mode & 0o7777).toString(8)}, not sticky)`);
    }
    if (dirname(at) === at) return;
  }
}

/** The canonical path a folder not there yet gets: its nearest existing ancestor's, then the rest. */
function realPathToBe(path: string): string {
  const rest: string[] = [];
  let at = path;
  while (lstatOrNull(at) === null && dirname(at) !== at) {
    rest.unshift(basename(at));
    at = dirname(at);
  }
  return join(realpathSync(at), ...rest);
}

/** A blob already there (a layer another export wrote): a regular file, never a symlink or folder. */
export function hasBlob(path: string): boolean {
  return fileOfOurs(path);
}
