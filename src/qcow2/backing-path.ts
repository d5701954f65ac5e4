/**
 * Pure: where a stored backing file name points. QEMU combines a relative
 * name with the folder of the image that stores it (not with the current
 * directory), so a chain of relative names keeps working when the folder moves.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { unsupported } from './image-errors.js';

/** Resolve `stored` (as found in `imagePath`'s header) to an absolute path. */
export function resolveBackingPath(imagePath: string, stored: string): string {
  // QEMU would treat these as protocol specs (json:{...}, nbd://...), not file names.
  if (/^[a-z][a-z0-9+.-]*:/i.test(stored) && !stored.startsWith('/')) {
    if (stored.startsWith('file:')) return resolveBackingPath(imagePath, stored.slice('file:'.length));
    throw unsupported(imagePath, `backing file ${JSON.stringify(stored)} is a protocol specification, not a file name`, 'backing_file');
  }
  return isAbsolute(stored) ? resolve(stored) : resolve(dirname(resolve(imagePath)), stored);
}
