/**
 * I/O: walk an image's backing chain, nearest backing file first. Guards: a
 * file seen twice (by device + inode, so symlinks and hard links cannot hide
 * a loop) is a loop, and more than MAX_CHAIN_DEPTH links is refused before any
 * caller recurses that deep. A raw file ends the chain: raw has no header.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCodes, ForkpointError, fromFsError } from '../errors.js';
import { MAX_CHAIN_DEPTH } from './constants.js';
import { resolveBackingPath } from './backing-path.js';
import { unsupported } from './image-errors.js';
import { probeImage, readHeader, type ProbedImage } from './read-header.js';
import type { BackingChainEntry, ImageFormat, ImageHeaderInfo, Qcow2Header } from './types.js';

function fileIdentity(path: string, referrer: string, stored: string | null): string {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch (err) {
    if (stored !== null && (err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ForkpointError(
        ErrorCodes.NOT_FOUND,
        `${referrer}: backing file ${path} does not exist (stored as ${JSON.stringify(stored)})`,
        { path: referrer, backingFile: path },
      );
    }
    throw fromFsError(err, path, 'cannot stat');
  }
}

/** Map the backing format extension to what we can follow. Absent: probe like qemu. */
function followableFormat(referrer: string, recorded: string | null): ImageFormat | undefined {
  if (recorded === null) return undefined;
  if (recorded === 'qcow2' || recorded === 'raw') return recorded;
  throw unsupported(referrer, `backing file format ${JSON.stringify(recorded)} is not supported (only qcow2 and raw)`, 'backing_format');
}

/** One step of the walk, also used by the flatten reader. */
export interface ChainLayer {
  path: string;
  image: ProbedImage;
}

/**
 * The image itself followed by every backing file (nearest first). The
 * first layer must be qcow2; the returned list has at most MAX_CHAIN_DEPTH + 1 layers.
 * `topHeader`: the image's header when the caller has already read it (saves a read).
 */
export function readChainLayers(path: string, topHeader?: ImageHeaderInfo): ChainLayer[] {
  const top = resolve(path);
  const seen = new Map<string, string>([[fileIdentity(top, top, null), top]]);
  const first = topHeader ?? readHeader(top);
  const layers: ChainLayer[] = [{ path: top, image: { format: 'qcow2', ...first } }];
  let current: { path: string; header: Qcow2Header } = { path: top, header: first.header };
  while (current.header.backingFile !== null) {
    const stored = current.header.backingFile;
    const next = resolveBackingPath(current.path, stored);
    if (layers.length > MAX_CHAIN_DEPTH) {
      throw new ForkpointError(
        ErrorCodes.CHAIN_TOO_DEEP,
        `${top}: backing chain is deeper than ${MAX_CHAIN_DEPTH} (stopped at ${current.path} → ${next})`,
        { path: top, maxDepth: MAX_CHAIN_DEPTH },
      );
    }
    const id = fileIdentity(next, current.path, stored);
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      const cycle = [...layers.map((l) => l.path), next].join(' → ');
      throw new ForkpointError(ErrorCodes.BACKING_LOOP, `${top}: backing chain loops: ${cycle} (${next} is ${earlier})`, {
        path: top,
        loop: cycle,
      });
    }
    seen.set(id, next);
    const image = probeImage(next, followableFormat(current.path, current.header.backingFormat));
    layers.push({ path: next, image });
    if (image.format === 'raw') break;
    current = { path: next, header: image.header };
  }
  return layers;
}

/** The backing files of `path`, nearest first, not including `path` itself. */
export function readBackingChain(path: string): BackingChainEntry[] {
  const layers = readChainLayers(path);
  const out: BackingChainEntry[] = [];
  for (let i = 1; i < layers.length; i++) {
    const layer = layers[i]!;
    const referrer = layers[i - 1]!.image;
    const storedName = referrer.format === 'qcow2' ? (referrer.header.backingFile ?? '') : '';
    out.push({
      path: layer.path,
      format: layer.image.format,
      virtualSize: layer.image.format === 'qcow2' ? layer.image.header.size : roundUpToSector(layer.image.fileSize),
      storedName,
    });
  }
  return out;
}

/** What QEMU reports as a raw file's size: whole 512-byte sectors. */
export function roundUpToSector(bytes: number): number {
  return Math.ceil(bytes / 512) * 512;
}
