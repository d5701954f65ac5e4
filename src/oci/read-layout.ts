/**
 * Read an OCI image layout written by export.ts (or copied back by skopeo) as untrusted input:
 * every file is a regular file inside the layout (no symlink, no name but `sha256/<hex>`), every
 * JSON blob is small, matches its digest and size, and the manifest describes a disk forkpoint can
 * rebuild: 1 to 9 layers of known media types, each naming the one before it as its parent, raw
 * only at the bottom. Layer blobs are verified while they are copied in (install-layer.ts).
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { faultPoint } from '../faults.js';
import { refuseForeignHardLink } from '../qcow2/hard-links.js';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ErrorCodes, ForkpointError, fromFsError } from '../errors.js';
import { MAX_CHAIN_DEPTH } from '../qcow2/constants.js';
import { blobPath } from './export.js';
import { ANN, MAX_JSON_BYTES, MEDIA_CONFIG, MEDIA_LAYER, MEDIA_MANIFEST, OCI_INDEX_FILE, OCI_LAYOUT_FILE, REF_NAME, layoutError, parseDigest, type Descriptor, type ExportKind, type LayerFormat, type LayerInfo } from './layout.js';

export interface LayoutImage {
  dir: string;
  tag: string | null;
  manifest: string;
  kind: ExportKind;
  boxId: string | null;
  layers: LayerInfo[];
}

/** A file of the layout, opened only if it is a regular file (never through a symlink). */
export function openLayoutFile(dir: string, rel: string): { fd: number; size: number; path: string } {
  const path = join(dir, rel);
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    throw fromFsError(err, path, 'cannot read OCI layout file');
  }
  if (!st.isFile()) throw new ForkpointError(ErrorCodes.NOT_A_FILE, `${path} is not a regular file (symlinks and devices are refused in an OCI layout)`, { path, rule: 'not-a-file' });
  // A symlinked folder on the way (blobs/, blobs/sha256/) would lead out of the layout.
  if (realpathSync(path) !== path) throw new ForkpointError(ErrorCodes.FORBIDDEN, `${path} leads outside the OCI layout ${dir} (a symlinked folder)`, { path, rule: 'outside-layout' });
  faultPoint('oci:before-open', path);
  // The name may have been swapped since the lstat: O_NOFOLLOW refuses a symlink put in its place,
  // O_NONBLOCK keeps a FIFO put there from holding the thread, and the identity check below
  // refuses any other file (one reached through a folder swapped for a symlink, too).
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw changed(path);
    throw fromFsError(err, path, 'cannot read OCI layout file');
  }
  const opened = fstatSync(fd);
  if (opened.ino !== st.ino || opened.dev !== st.dev || !opened.isFile()) {
    closeSync(fd);
    throw changed(path);
  }
  try {
    refuseForeignHardLink(opened.nlink, path);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return { fd, size: opened.size, path };
}

const changed = (path: string) => new ForkpointError(ErrorCodes.CONFLICT, `${path} changed while it was opened (another file was put under its name)`, { path });

function readSmall(dir: string, rel: string, expect?: { digest: string; size: number }): Buffer {
  const { fd, size, path } = openLayoutFile(dir, rel);
  try {
    if (size > MAX_JSON_BYTES) throw layoutError(`${path}: ${size} bytes, more than ${MAX_JSON_BYTES} for a JSON document`, 'too-big', { path });
    if (expect && size !== expect.size) throw layoutError(`${path}: ${size} bytes, its descriptor says ${expect.size}`, 'size', { path });
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    const bytes = buf.subarray(0, got);
    if (expect) {
      const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      if (actual !== expect.digest) throw layoutError(`${path}: its sha256 is ${actual}, not ${expect.digest}`, 'digest', { path });
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw layoutError(`${what} is not a JSON object`, 'json', { path: what });
}

function descriptor(v: unknown, where: string): Descriptor {
  const d = v as Partial<Descriptor> | null;
  if (!d || typeof d !== 'object' || typeof d.mediaType !== 'string' || typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw layoutError(`${where}: not an OCI descriptor (mediaType, digest, size)`, 'descriptor', { field: where });
  }
  const annotations = d.annotations && typeof d.annotations === 'object' ? annotationsOf(d.annotations) : undefined;
  return { mediaType: d.mediaType, digest: parseDigest(d.digest, `${where}.digest`), size: d.size, ...(annotations ? { annotations } : {}) };
}

/**
 * Annotations as the layout's author wrote them, but only own entries with string values, in an
 * object with no prototype: a key such as `__proto__` or `constructor` is just a key, and a value
 * that is not a string (a box id given as an object) is as if absent.
 */
function annotationsOf(v: unknown): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

const relBlob = (digest: string) => blobPath('', digest).replace(/^\//, '');

/**
 * `admitDir` sees the layout folder as resolved now (canonical), before anything in it is read:
 * the import folders are checked on that, since the folder named may have been swapped for a
 * symlink after an earlier check. Every file read below it is a symlink-free path inside it.
 */
export function readLayoutImage(rawDir: string, tag: string | null, o: { admitDir?: (dir: string) => void } = {}): LayoutImage {
  let dir: string;
  try {
    dir = realpathSync(rawDir);
  } catch (err) {
    throw fromFsError(err, rawDir, 'cannot open OCI layout');
  }
  o.admitDir?.(dir);
  const marker = parseJson(readSmall(dir, OCI_LAYOUT_FILE), join(dir, OCI_LAYOUT_FILE));
  if (marker.imageLayoutVersion !== '1.0.0') throw layoutError(`${join(dir, OCI_LAYOUT_FILE)}: imageLayoutVersion is not 1.0.0`, 'layout-version', { path: dir });
  const index = parseJson(readSmall(dir, OCI_INDEX_FILE), join(dir, OCI_INDEX_FILE));
  const all = Array.isArray(index.manifests) ? index.manifests.map((m, i) => descriptor(m, `index.json manifests.${i}`)) : [];
  const chosen = tag === null ? (all.length === 1 ? all[0] : undefined) : all.find((m) => m.annotations?.[REF_NAME] === tag);
  if (!chosen) {
    const tags = all.map((m) => m.annotations?.[REF_NAME]).filter(Boolean);
    throw new ForkpointError(ErrorCodes.NOT_FOUND, tag === null ? `${dir} holds ${all.length} images (tags: ${tags.join(', ') || 'none'}); name one as DIR:TAG` : `${dir} has no image tagged ${tag} (tags: ${tags.join(', ') || 'none'})`, { path: dir, field: 'tag' });
  }
  if (chosen.mediaType !== MEDIA_MANIFEST) throw layoutError(`${dir}: the image is a ${chosen.mediaType}, not an OCI image manifest`, 'media-type', { path: dir });
  const manifest = parseJson(readSmall(dir, relBlob(chosen.digest), chosen), `manifest ${chosen.digest}`);
  const config = descriptor(manifest.config, 'manifest config');
  if (config.mediaType !== MEDIA_CONFIG) throw layoutError(`manifest ${chosen.digest}: config is ${config.mediaType}, not ${MEDIA_CONFIG}`, 'media-type', { path: dir });
  readSmall(dir, relBlob(config.digest), config); // verified: a registry copy must not have changed it either
  const raw = Array.isArray(manifest.layers) ? manifest.layers : [];
  if (raw.length === 0 || raw.length > MAX_CHAIN_DEPTH + 1) {
    throw new ForkpointError(ErrorCodes.CHAIN_TOO_DEEP, `manifest ${chosen.digest}: ${raw.length} layers; a disk has 1 to ${MAX_CHAIN_DEPTH + 1} (itself and at most ${MAX_CHAIN_DEPTH} backing files)`, { path: dir });
  }
  const layers: LayerInfo[] = [];
  raw.forEach((l, i) => {
    const d = descriptor(l, `manifest layers.${i}`);
    const format = (Object.keys(MEDIA_LAYER) as LayerFormat[]).find((f) => MEDIA_LAYER[f] === d.mediaType);
    if (!format || d.annotations?.[ANN.format] !== format) throw layoutError(`manifest layers.${i}: media type ${d.mediaType} is not a forkpoint disk layer`, 'media-type', { field: `layers.${i}` });
    if (format === 'raw' && i > 0) throw layoutError(`manifest layers.${i}: a raw layer can only be the bottom of a chain`, 'raw-not-bottom', { field: `layers.${i}` });
    const parent = i === 0 ? null : layers[i - 1]!.digest;
    const named = d.annotations?.[ANN.parent] ?? null;
    if (named !== parent) throw layoutError(`manifest layers.${i}: names parent ${named ?? 'none'}, but the layer below it is ${parent ?? 'none'}`, 'parent', { field: `layers.${i}` });
    layers.push({ digest: d.digest, size: d.size, format, parent });
  });
  const ann = annotationsOf(manifest.annotations);
  const kind: ExportKind = ann[ANN.kind] === 'snapshot' ? 'snapshot' : 'box';
  if (kind === 'box' && layers[layers.length - 1]!.format !== 'qcow2') throw layoutError(`manifest ${chosen.digest}: a box's top layer must be its qcow2 disk`, 'top', { path: dir });
  return { dir, tag: chosen.annotations?.[REF_NAME] ?? null, manifest: chosen.digest, kind, boxId: ann[ANN.box] ?? null, layers };
}
