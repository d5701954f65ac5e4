/**
 * Pure: the header-cluster prefix of an image with another backing reference (or none): the
 * fixed header, the backing-format extension, every other extension byte for byte, the end
 * marker, the name; stale bytes of a longer old name zeroed. set-backing.ts writes it over an
 * image (a rebase); the OCI export streams it in place of a layer's own header (src/oci/).
 */
import { ErrorCodes, ForkpointError } from '../errors.js';
import { encodeExtensionsAndName } from './child-layout.js';
import type { Qcow2Header } from './types.js';

/** `area`: at least the image's first min(cluster, file) bytes. `name` null: no backing file. */
export function headerWithBacking(area: Buffer, header: Qcow2Header, path: string, name: string | null, format: string | null): Buffer {
  const keep = header.extensions
    .filter((e) => e.type !== 'backing-format')
    .map((e) => {
      const len = area.readUInt32BE(e.offset + 4);
      return area.subarray(e.offset, e.offset + 8 + ((len + 7) & ~7));
    });
  const tail = encodeExtensionsAndName(header.headerLength, name, name === null ? null : format, keep);
  const newEnd = header.headerLength + tail.bytes.length;
  if (newEnd > header.clusterSize) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `${path}: backing name of ${Buffer.byteLength(name ?? '')} bytes does not fit in the ${header.clusterSize}-byte header cluster`, { path, field: 'backing_file' });
  }
  const oldEnd = Math.max(header.extensionsEnd, header.backingFile === null ? 0 : header.backingFileOffset + header.backingFileSize);
  const out = Buffer.alloc(Math.max(newEnd, oldEnd));
  area.copy(out, 0, 0, header.headerLength);
  out.writeBigUInt64BE(name === null ? 0n : BigInt(tail.nameOffset), 8);
  out.writeUInt32BE(name === null ? 0 : Buffer.byteLength(name), 16);
  tail.bytes.copy(out, header.headerLength);
  return out;
}
