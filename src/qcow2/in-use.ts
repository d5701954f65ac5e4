/**
 * Opt-in check that no QEMU process has the image open for writing. QEMU
 * takes an OFD write lock on images it opens read-write; `qemu-img info`
 * without -U asks for a shared lock and fails on such an image. It costs a
 * process spawn, so callers choose when to pay (e.g. before forking a box
 * that might be running).
 */
import { spawnSync } from 'node:child_process';
import { ErrorCodes, ForkpointError } from '../errors.js';

export function assertImageNotInUse(path: string, qemuImg = 'qemu-img'): void {
  const r = spawnSync(qemuImg, ['info', '--output=json', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) {
    throw new ForkpointError(ErrorCodes.IO, `${path}: cannot run ${qemuImg} to check whether the image is in use: ${r.error.message}`, { path });
  }
  if (r.status === 0) return;
  const stderr = r.stderr.trim();
  if (/lock/i.test(stderr)) {
    throw new ForkpointError(ErrorCodes.IMAGE_IN_USE, `${path}: image is in use (a QEMU process holds its write lock); stop or pause the box first`, { path });
  }
  // Any other failure (not found, corrupt…) is for the format checks to report precisely.
}
