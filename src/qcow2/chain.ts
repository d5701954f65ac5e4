/**
 * I/O: walk an image's backing chain, nearest backing file first. Guards: a
 * file seen twice (by device + inode, so symlinks and hard links cannot hide
 * a loop) is a loop, and more than MAX_CHAIN_DEPTH links is refused before any
 * caller recurses that deep. A raw file ends the chain: raw has no header.
 * A backing file with no recorded format is probed as qemu would probe it;
 * one qemu takes for another format (vmdk, vdi, …) is refused (probeImage).
 */
import { closeSync, statSync, type BigIntStats } from 'node:fs';
import { ErrorCodes, ForkpointError, fromFsError, isForkpointError } from '../errors.js';
import { MAX_CHAIN_DEPTH } from './constants.js';
import { resolveBackingPath } from './backing-path.js';
import { kernelPath } from './kernel-path.js';
import { unsupported } from './image-errors.js';
import { openImageForRead, probeImage, probeOpenImage, readHeader, readHeaderFromFd, type ProbedImage } from './read-header.js';
import type { BackingChainEntry, ImageFormat, ImageHeaderInfo, Qcow2Header } from './types.js';

function fileStat(path: string, referrer: string, stored: string | null): BigIntStats {
  try {
    return statSync(path, { bigint: true });
  } catch (err) {
    if (stored !== null && (err as NodeJS.ErrnoException).code === 'ENOENT') throw missingBacking(path, referrer, stored);
    throw fromFsError(err, path, 'cannot stat');
  }
}

function missingBacking(path: string, referrer: string, stored: string): ForkpointError {
  return new ForkpointError(ErrorCodes.NOT_FOUND, `${referrer}: backing file ${path} does not exist (stored as ${JSON.stringify(stored)})`, {
    path: referrer,
    backingFile: path,
  });
}

const fileIdentity = (st: BigIntStats): string => `${st.dev}:${st.ino}`;

/**
 * Probes of read-only layers (our immutable bases, the rootfs cache), keyed by path, identity,
 * size, ctime and the format asked for: a fork of a box disk walks the same bases every time,
 * and this saves an open, a read and a parse per level. The walk stats each layer anyway (the
 * loop guard); a file made writable, rewritten, renamed or linked has a new ctime and is read
 * again. The same rule as the plan cache in plan-child-of-base.ts.
 */
const PROBE_CACHE_LIMIT = 256;
const readOnlyProbes = new Map<string, ProbedImage>();

function probeLayer(path: string, st: BigIntStats, expect: ImageFormat | undefined): ProbedImage {
  if ((st.mode & 0o222n) !== 0n) return probeImage(path, expect);
  const key = `${path}\0${st.dev}:${st.ino}:${st.size}:${st.ctimeNs}:${expect ?? ''}`;
  const hit = readOnlyProbes.get(key);
  if (hit) return hit;
  const probed = probeImage(path, expect);
  if (readOnlyProbes.size >= PROBE_CACHE_LIMIT) readOnlyProbes.delete(readOnlyProbes.keys().next().value!);
  readOnlyProbes.set(key, probed);
  return probed;
}

/** probeImage, answered from the cache above when the file is read-only and unchanged. */
export function probeImageCached(path: string, expect?: ImageFormat): ProbedImage {
  let st: BigIntStats;
  try {
    st = statSync(path, { bigint: true });
  } catch {
    return probeImage(path, expect); // it reports the problem the way every reader does
  }
  return probeLayer(path, st, expect);
}

/** Formats qemu has a driver for that can hold a disk; any other recorded name, qemu cannot open ("Unknown driver"). */
const QEMU_DISK_FORMATS = new Set(['bochs', 'cloop', 'dmg', 'luks', 'parallels', 'qcow', 'qed', 'vdi', 'vhdx', 'vmdk', 'vpc', 'vvfat']);

/** Map the backing format extension to what we can follow. Absent: probe like qemu. */
function followableFormat(referrer: string, recorded: string | null): ImageFormat | undefined {
  if (recorded === null) return undefined;
  if (recorded === 'qcow2' || recorded === 'raw') return recorded;
  const why = QEMU_DISK_FORMATS.has(recorded) ? `forkpoint reads only qcow2 and raw; convert the backing file first (qemu-img convert -O qcow2)` : 'qemu has no such format';
  throw unsupported(referrer, `backing file format ${JSON.stringify(recorded)} is not supported: ${why}`, 'backing_format');
}

/** One step of the walk, also used by the flatten reader. */
export interface ChainLayer {
  path: string;
  image: ProbedImage;
}

/**
 * The image itself followed by every backing file (nearest first). The
 * first layer must be qcow2; the returned list has at most MAX_CHAIN_DEPTH + 1 layers.
 * `topHeader`: the image's header when the caller has already read it (saves a read), and
 * `topStat` the stat of the file it read it from (saves a stat).
 */
export function readChainLayers(path: string, topHeader?: ImageHeaderInfo, topStat?: BigIntStats): ChainLayer[] {
  return walkChain(path, (file, referrer, stored) => {
    const st = referrer === null && topStat !== undefined ? topStat : fileStat(file, referrer ?? file, stored);
    return {
      st,
      probe: (expect) => (referrer === null ? { format: 'qcow2', ...(topHeader ?? readHeader(file)) } : probeLayer(file, st, expect)),
    };
  });
}

/** A layer opened once: every read of it goes through `fd`, never through its name again. */
export interface OpenedLayer extends ChainLayer {
  fd: number;
}

/**
 * Called with each layer's file as soon as it is open, before a byte of it is read: it may refuse
 * the file by throwing (import confinement checks where the opened file really is). depth 0 is
 * the image itself.
 */
export type AdmitLayer = (fd: number, path: string, depth: number) => void;

/**
 * readChainLayers, but each file is opened once and kept open: the header that names the next
 * file, the loop guard's identity and the data all come from that one open file, so a name
 * swapped after a check (or between two reads) cannot make a reader read another file. The
 * caller closes the fds (ChainReader does, with its layers); on a refusal they are closed here.
 */
export function openChainLayers(path: string, admit?: AdmitLayer): OpenedLayer[] {
  const fds: number[] = [];
  try {
    const layers = walkChain(path, (file, referrer, stored, depth) => {
      const { fd, fileSize, st } = openLayerFile(file, referrer, stored);
      fds.push(fd);
      admit?.(fd, file, depth);
      return {
        st,
        probe: (expect) => (referrer === null ? { format: 'qcow2', path: file, fileSize, header: readHeaderFromFd(fd, file, fileSize) } : probeOpenImage(fd, file, fileSize, expect)),
      };
    });
    return layers.map((l, i) => ({ ...l, fd: fds[i]! }));
  } catch (err) {
    for (const fd of fds) closeSync(fd);
    throw err;
  }
}

function openLayerFile(file: string, referrer: string | null, stored: string | null): ReturnType<typeof openImageForRead> {
  try {
    return openImageForRead(file);
  } catch (err) {
    if (referrer !== null && stored !== null && isForkpointError(err, ErrorCodes.NOT_FOUND)) throw missingBacking(file, referrer, stored);
    throw err;
  }
}

type LayerOpen = (
  file: string,
  referrer: string | null,
  stored: string | null,
  depth: number,
) => { st: BigIntStats; probe: (expect: ImageFormat | undefined) => ProbedImage };

function walkChain(path: string, open: LayerOpen): ChainLayer[] {
  const top = kernelPath(path);
  const opened = open(top, null, null, 0);
  const seen = new Map<string, string>([[fileIdentity(opened.st), top]]);
  const first = opened.probe('qcow2') as Extract<ProbedImage, { format: 'qcow2' }>;
  const layers: ChainLayer[] = [{ path: top, image: first }];
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
    const layer = open(next, current.path, stored, layers.length);
    const id = fileIdentity(layer.st);
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      const cycle = [...layers.map((l) => l.path), next].join(' → ');
      throw new ForkpointError(ErrorCodes.BACKING_LOOP, `${top}: backing chain loops: ${cycle} (${next} is ${earlier})`, {
        path: top,
        loop: cycle,
      });
    }
    seen.set(id, next);
    const image = layer.probe(followableFormat(current.path, current.header.backingFormat));
    layers.push({ path: next, image });
    if (image.format === 'raw') break;
    current = { path: next, header: image.header };
  }
  return layers;
}

/**
 * The check before making a child of `image`; fork and overlay both call it,
 * so both refuse the same things. The child reads image's whole chain, so a
 * chain that cannot be read (a missing file, a folder, a loop, an unknown or
 * unreadable format, deeper than MAX_CHAIN_DEPTH) would make a disk that
 * cannot be opened; the child adds one level, so an image already reading
 * MAX_CHAIN_DEPTH backing files is refused too (the pipeline flattens
 * instead). `action` names what was refused ("fork"); `imageStat`, the image's
 * stat when the caller has it. Returns the layers.
 */
export function assertChildChainReadable(image: ImageHeaderInfo, action: string, imageStat?: BigIntStats): ChainLayer[] {
  let layers: ChainLayer[];
  try {
    layers = readChainLayers(image.path, image, imageStat);
  } catch (err) {
    // The walker names the layer it stopped at; when that is not the image, say whose chain it is.
    if (!isForkpointError(err) || err.details.path === image.path) throw err;
    throw new ForkpointError(err.code, `${image.path}: cannot ${action}, its backing chain is broken: ${err.message}`, { ...err.details, source: image.path }, { cause: err });
  }
  const backingFiles = layers.length - 1;
  if (backingFiles >= MAX_CHAIN_DEPTH) {
    throw new ForkpointError(
      ErrorCodes.CHAIN_TOO_DEEP,
      `${image.path}: cannot ${action}, it already reads ${backingFiles} backing files and its child would read ${backingFiles + 1} (at most ${MAX_CHAIN_DEPTH}); flatten it first`,
      { path: image.path, maxDepth: MAX_CHAIN_DEPTH },
    );
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
