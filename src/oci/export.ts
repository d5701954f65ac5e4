/**
 * Write a disk chain into an OCI image layout (layout.ts): each layer blob only if the layout does
 * not hold its digest yet (a second box sharing bases adds only its own layers), then the config,
 * the manifest, and index.json with this tag (an earlier manifest under the same tag is replaced).
 * Every file goes in under a temporary name and is renamed into place, so a reader of the layout
 * (skopeo, an import) never sees half a blob or half an index. Reads the home only.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fromFsError } from '../errors.js';
import { digestLayer, writeLayer, type LayerSource } from './layer-bytes.js';
import { hasBlob, openExportFolder } from './export-folder.js';
import { ANN, MEDIA_CONFIG, MEDIA_INDEX, MEDIA_LAYER, MEDIA_MANIFEST, OCI_INDEX_FILE, OCI_LAYOUT_FILE, REF_NAME, parseTag, type Descriptor, type ExportKind, type LayerFormat } from './layout.js';

export interface ExportRequest {
  dir: string;
  /** The home the chain is read from: the layout may not lie in it. */
  home: string;
  tag: string;
  /** The chain, bottom first (a base with no backing file); the last is the top (the box's disk, or the snapshot). */
  files: { path: string; format: LayerFormat }[];
  kind: ExportKind;
  boxId: string;
  snapshot?: string;
  virtualSize: number;
  /** ISO time for the config (the record's creation). */
  created: string;
}

export interface ExportResult {
  dir: string;
  tag: string;
  manifest: string;
  layers: { digest: string; size: number; written: boolean }[];
}

/** Private, as the disks are in the home (export-folder.ts). */
const FILE_MODE = 0o600;

export const blobPath = (dir: string, digest: string): string => join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));

function putFile(final: string, write: (tmp: string) => void): void {
  const tmp = `${final}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    write(tmp);
    renameSync(tmp, final);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw fromFsError(err, final, 'cannot write');
  }
}

function putJsonBlob(dir: string, value: unknown, mediaType: string): Descriptor {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const path = blobPath(dir, digest);
  if (!hasBlob(path)) putFile(path, (tmp) => writeFileSync(tmp, bytes, { flag: 'wx', mode: FILE_MODE }));
  return { mediaType, digest, size: bytes.length };
}

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export function exportImage(req: ExportRequest): ExportResult {
  const tag = parseTag(req.tag);
  const { dir, manifests } = openExportFolder(req.dir, req.home); // before anything is written
  const layers: Descriptor[] = [];
  const written: ExportResult['layers'] = [];
  let parent: LayerSource['parent'] = null;
  for (const file of req.files) {
    const src: LayerSource = { path: file.path, format: file.format, parent };
    const { digest, size } = digestLayer(src);
    const path = blobPath(dir, digest);
    const fresh = !hasBlob(path);
    if (fresh) putFile(path, (tmp) => writeLayer(src, tmp, FILE_MODE));
    layers.push({ mediaType: MEDIA_LAYER[file.format], digest, size, annotations: { [ANN.format]: file.format, ...(parent ? { [ANN.parent]: parent.digest } : {}) } });
    written.push({ digest, size, written: fresh });
    parent = { digest, format: file.format };
  }
  const labels = { [ANN.kind]: req.kind, [ANN.box]: req.boxId, [ANN.virtualSize]: String(req.virtualSize), ...(req.snapshot ? { [ANN.snapshot]: req.snapshot } : {}) };
  const config = putJsonBlob(
    dir,
    { created: req.created, architecture: GOARCH[process.arch] ?? process.arch, os: 'linux', config: { Labels: labels }, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } },
    MEDIA_CONFIG,
  );
  const manifest = putJsonBlob(dir, { schemaVersion: 2, mediaType: MEDIA_MANIFEST, config, layers, annotations: labels }, MEDIA_MANIFEST);
  writeIndex(dir, tag, manifest, manifests);
  return { dir, tag, manifest: manifest.digest, layers: written };
}

/** index.json with `tag` naming `manifest` (the other tags of `listed` kept), and oci-layout. */
function writeIndex(dir: string, tag: string, manifest: Descriptor, listed: Descriptor[]): void {
  const manifests = listed.filter((m) => m.annotations?.[REF_NAME] !== tag);
  manifests.push({ ...manifest, annotations: { [REF_NAME]: tag } });
  const write = (bytes: string) => (tmp: string) => writeFileSync(tmp, bytes, { flag: 'wx', mode: FILE_MODE });
  putFile(join(dir, OCI_LAYOUT_FILE), write(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  putFile(join(dir, OCI_INDEX_FILE), write(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_INDEX, manifests })));
}
