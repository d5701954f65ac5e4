/**
 * The OCI image layout forkpoint writes and reads (OCI image-spec v1.1, "image-layout"):
 *
 *   DIR/oci-layout            {"imageLayoutVersion":"1.0.0"}
 *   DIR/index.json            an image index; one manifest per tag (org.opencontainers.image.ref.name)
 *   DIR/blobs/sha256/<hex>    content-addressed blobs: manifests, configs, one blob per disk layer
 *
 * A disk is one layer per file of its chain, bottom (a standalone base) first. A qcow2 layer is the
 * file's bytes with its backing reference rewritten to `sha256:<hex>` of its parent layer (never a
 * host path), so a layer's digest covers its whole chain and equal digests are equal disks; a raw
 * layer (a rootfs image) is the file as is, always the bottom. Annotations say the same in the
 * manifest. The config is a plain OCI image config, so registries and skopeo treat it as an image.
 */
import { ErrorCodes, ForkpointError } from '../errors.js';

export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_INDEX_FILE = 'index.json';
export const MEDIA_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MEDIA_LAYER = { qcow2: 'application/vnd.forkpoint.disk.qcow2.v1', raw: 'application/vnd.forkpoint.disk.raw.v1' } as const;
export const REF_NAME = 'org.opencontainers.image.ref.name';
export const ANN = {
  parent: 'org.forkpoint.layer.parent',
  format: 'org.forkpoint.layer.format',
  kind: 'org.forkpoint.kind',
  box: 'org.forkpoint.box.id',
  snapshot: 'org.forkpoint.snapshot.name',
  virtualSize: 'org.forkpoint.virtual-size',
} as const;
/** Manifests, configs and the index are small; anything bigger is refused before it is parsed. */
export const MAX_JSON_BYTES = 1 << 20;

export type LayerFormat = keyof typeof MEDIA_LAYER;
export type ExportKind = 'box' | 'snapshot';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface LayerInfo {
  digest: string;
  size: number;
  format: LayerFormat;
  /** The parent layer's digest (null for the bottom). */
  parent: string | null;
}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
/** A tag a registry takes too (the OCI distribution spec's tag grammar). */
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** A layout problem: E_INVALID_ARGUMENT naming the file or field, `details.rule` says which check. */
export function layoutError(message: string, rule: string, details: Record<string, string> = {}): ForkpointError {
  return new ForkpointError(ErrorCodes.INVALID_ARGUMENT, message, { rule, ...details });
}

export function parseDigest(value: unknown, where: string): string {
  if (typeof value !== 'string' || !DIGEST_RE.test(value)) throw layoutError(`${where}: ${JSON.stringify(value)} is not a sha256 digest (sha256:<64 hex>)`, 'digest', { field: where });
  return value;
}

export function parseTag(value: string, field = 'tag'): string {
  if (!TAG_RE.test(value)) throw new ForkpointError(ErrorCodes.INVALID_NAME, `invalid tag ${JSON.stringify(value)}: 1-128 of [A-Za-z0-9_.-], not starting with . or -`, { field });
  return value;
}

/** `DIR[:TAG]` as the CLI takes it: the tag is what follows the last ':' when it is a valid tag. */
export function splitLayoutRef(ref: string): { dir: string; tag: string | null } {
  const cut = ref.lastIndexOf(':');
  if (cut > 0 && TAG_RE.test(ref.slice(cut + 1)) && !ref.slice(cut + 1).includes('/')) return { dir: ref.slice(0, cut), tag: ref.slice(cut + 1) };
  return { dir: ref, tag: null };
}

/** The reference a qcow2 layer's header names for its parent layer. */
export const parentRef = (digest: string): string => digest;
