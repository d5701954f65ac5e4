/**
 * I/O: a new, empty, standalone qcow2 image (a fresh box's disk). Same
 * writer and layout as a COW child, without the backing file.
 */
import { resolve } from 'node:path';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { SECTOR_SIZE } from './constants.js';
import { planEmptyImage } from './child-layout.js';
import { writePlannedImage } from './write-cow-child.js';

export interface CreateImageResult {
  path: string;
  virtualSize: number;
  clusterSize: number;
  fileLength: number;
}

export function createImage(path: string, sizeBytes: number, opts: { fsync?: boolean; clusterBits?: number; mode?: number } = {}): CreateImageResult {
  const target = resolve(path);
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0 || sizeBytes % SECTOR_SIZE !== 0) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `${target}: image size ${sizeBytes} must be a non-negative multiple of ${SECTOR_SIZE} bytes`, { path: target, field: 'size' });
  }
  const r = writePlannedImage(planEmptyImage(sizeBytes, opts.clusterBits), target, opts.fsync ?? true, opts.mode);
  return { path: r.path, virtualSize: r.virtualSize, clusterSize: r.clusterSize, fileLength: r.fileLength };
}
