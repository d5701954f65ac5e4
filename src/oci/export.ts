/**
 * Write a disk chain into an OCI image layout (layout.ts): each layer blob only if the layout does
 * not hold its digest yet (a second box sharing bases adds only its own layers), then the config,
 * the manifest, and index.json with this tag (an earlier manifest under the same tag is replaced).
 * Every file goes in under a temporary name and is renamed into place, so a reader of the layout
 * (skopeo, an import) never sees half a blob or half an index. Reads the home only.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fromFsError } from '../errors.js';
import { digestLayer, writeLayer, type LayerSource } from './layer-bytes.js';
import { ANN, MEDIA_CONFIG, MEDIA_INDEX, MEDIA_LAYER, MEDIA_MANIFEST, OCI_INDEX_FILE, OCI_LAYOUT_FILE, REF_NAME, parseTag, type Descriptor, type ExportKind, type LayerFormat } from './layout.js';

export interface ExportRequest {
  dir: string;
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
  if (!existsSync(path)) putFile(path, (tmp) => writeFileSync(tmp, bytes, { flag: 'wx' }));
  return { mediaType, digest, size: bytes.length };
}

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export function exportImage(req: ExportRequest): ExportResult {
  const tag = parseTag(req.tag);
  mkdirSync(join(req.dir, 'blobs', 'sha256'), { recursive: true });
  const layers: Descriptor[] = [];
  const written: ExportResult['layers'] = [];
  let parent: LayerSource['parent'] = null;
  for (const file of req.files) {
    const src: LayerSource = { path: file.path, format: file.format, parent };
    const { digest, size } = digestLayer(src);
    const path = blobPath(req.dir, digest);
    const fresh = !existsSync(path);
    if (fresh) putFile(path, (tmp) => writeLayer(src, tmp));
    layers.push({ mediaType: MEDIA_LAYER[file.format], digest, size, annotations: { [ANN.format]: file.format, ...(parent ? { [ANN.parent]: parent.digest } : {}) } });
    written.push({ digest, size, written: fresh });
    parent = { digest, format: file.format };
  }
  const labels = { [ANN.kind]: req.kind, [ANN.box]: req.boxId, [ANN.virtualSize]: String(req.virtualSize), ...(req.snapshot ? { [ANN.snapshot]: req.snapshot } : {}) };
  const config = putJsonBlob(
    req.dir,
    { created: req.created, architecture: GOARCH[process.arch] ?? process.arch, os: 'linux', config: { Labels: labels }, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } },
    MEDIA_CONFIG,
  );
  const manifest = putJsonBlob(req.dir, { schemaVersion: 2, mediaType: MEDIA_MANIFEST, config, layers, annotations: labels }, MEDIA_MANIFEST);
  writeIndex(req.dir, tag, manifest);
  return { dir: req.dir, tag, manifest: manifest.digest, layers: written };
}

/** index.json with `tag` naming `manifest` (other tags kept), and oci-layout. */
function writeIndex(dir: string, tag: string, manifest: Descriptor): void {
  const indexPath = join(dir, OCI_INDEX_FILE);
  let manifests: Descriptor[] = [];
  if (existsSync(indexPath)) {
    try {
      const old = JSON.parse(readFileSync(indexPath, 'utf8')) as { manifests?: Descriptor[] };
      manifests = (old.manifests ?? []).filter((m) => m.annotations?.[REF_NAME] !== tag);
    } catch (err) {
      throw fromFsError(err, indexPath, 'cannot read the existing index of');
    }
  }
  manifests.push({ ...manifest, annotations: { [REF_NAME]: tag } });
  putFile(join(dir, OCI_LAYOUT_FILE), (tmp) => writeFileSync(tmp, JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  putFile(indexPath, (tmp) => writeFileSync(tmp, JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_INDEX, manifests })));
}
