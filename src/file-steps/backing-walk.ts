/**
 * The one walk down a backing chain for the rules that must see each backing
 * file before it is opened (import confinement, the box-disk guard). It
 * yields the next file's name, as the readers will open it, and probes that
 * file only when the caller asks for the step after: a caller that refuses a
 * name stops the walk, and the file is never touched.
 */
import type { ForkpointError } from '../errors.js';
import { MAX_CHAIN_DEPTH } from '../qcow2/constants.js';
import { resolveBackingPath } from '../qcow2/backing-path.js';
import { probeImageCached, type AdmitLayer } from '../qcow2/chain.js';
import { openImageForRead, probeOpenImage, type ProbedImage } from '../qcow2/read-header.js';
import { faultPoint } from '../faults.js';
import { closeSync } from 'node:fs';

export type BackingStep = {
  /** 1 for the top image's backing file, 2 for the next, … */
  depth: number;
  /** The backing name as the image stores it. */
  stored: string;
} & (
  /** The backing file's name, resolved as every reader resolves it. */
  | { path: string; notAFile?: undefined }
  /** The stored name is no file name (a protocol: nbd:, json:, …), the error every reader refuses it with; the walk ends. */
  | { path?: undefined; notAFile: ForkpointError }
);

/**
 * The backing files of `top` (read as `topFormat`, or probed), nearest first, up to the depth cap:
 * past it every reader refuses the chain (E_CHAIN_TOO_DEEP), so nothing past it is opened here either.
 */
export function* backingFiles(top: string, topFormat?: 'qcow2' | 'raw', admit?: AdmitLayer): Generator<BackingStep, void, void> {
  let current = top;
  let format = topFormat;
  for (let depth = 1; depth <= MAX_CHAIN_DEPTH; depth++) {
    // bases are read-only: their headers are cached
    const probed = admit ? probeAdmitted(current, format, admit, depth - 1) : probeImageCached(current, format);
    if (probed.format === 'raw' || probed.header.backingFile === null) return;
    const stored = probed.header.backingFile;
    format = probed.header.backingFormat === 'raw' || probed.header.backingFormat === 'qcow2' ? probed.header.backingFormat : undefined;
    try {
      current = resolveBackingPath(current, stored);
    } catch (err) {
      yield { depth, stored, notAFile: err as ForkpointError };
      return;
    }
    yield { path: current, depth, stored };
  }
}

/**
 * The probe for a walk that must judge each file as opened (import confinement): the header that
 * names the next file is read from the fd `admit` accepted, so a name swapped after the caller's
 * check by name is refused before a byte of the file it now leads to is read.
 */
function probeAdmitted(path: string, format: 'qcow2' | 'raw' | undefined, admit: AdmitLayer, depth: number): ProbedImage {
  faultPoint('import:before-open', path);
  const { fd, fileSize } = openImageForRead(path);
  try {
    admit(fd, path, depth);
    return probeOpenImage(fd, path, fileSize, format);
  } finally {
    closeSync(fd);
  }
}
