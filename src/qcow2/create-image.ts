/**
 * I/O: a new, empty, standalone qcow2 image (a fresh box's disk). Same
 * writer and layout as a COW child, without the backing file.
 */
import { dirname, resolve } from 'node:path';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { SECTOR_SIZE } from './constants.js';
import { planEmptyImage } from './child-layout.js';
import { fsyncFolder, removeQuietly } from './durable.js';
import { writePlannedChild } from './write-cow-child.js';

export interface CreateImageResult {
  path: string;
  virtualSize: number;
  clusterSize: number;
  fileLength: number;
}

export function createImage(path: string, sizeBytes: number, opts: { fsync?: boolean; clusterBits?: number } = {}): CreateImageResult {
  const target = resolve(path);
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0 || sizeBytes % SECTOR_SIZE !== 0) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `${target}: image size ${sizeBytes} must be a non-negative multiple of ${SECTOR_SIZE} bytes`, { path: target, field: 'size' });
  }
  const fsync = opts.fsync ?? true;
  const plan = planEmptyImage(sizeBytes, opts.clusterBits);
  const r = writePlannedChild(plan, target, fsync);
  if (fsync) {
    try {
      fsyncFolder(dirname(target));
    } catch (err) {
      removeQuietly(target);
      throw err;
    }
  }
  return { path: r.path, virtualSize: r.virtualSize, clusterSize: r.clusterSize, fileLength: r.fileLength };
}
