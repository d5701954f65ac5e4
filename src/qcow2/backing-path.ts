/**
 * Where a stored backing file name points. QEMU combines a relative name
 * with the folder of the image that stores it (not with the current
 * directory), so a chain of relative names keeps working when the folder
 * moves; it joins them as text and the kernel walks the result (kernel-path.ts).
 */
import { dirname, isAbsolute } from 'node:path';
import { unsupported } from './image-errors.js';
import { kernelPath } from './kernel-path.js';

/** Resolve `stored` (as found in `imagePath`'s header) to an absolute path. */
export function resolveBackingPath(imagePath: string, stored: string): string {
  // QEMU reads a name whose first ':' comes before any '/' as a protocol spec (json:{...},
  // nbd://..., even my_base:v1.qcow2), not as a file name; `file:` ones it resolves against its
  // own working directory, which we cannot know. So all of these are refused, not guessed.
  const firstSep = stored.search(/[:/]/);
  if (firstSep >= 0 && stored[firstSep] === ':') {
    throw unsupported(imagePath, `backing file ${JSON.stringify(stored)} is a protocol specification, not a file name`, 'backing_file');
  }
  return kernelPath(isAbsolute(stored) ? stored : `${dirname(kernelPath(imagePath))}/${stored}`);
}
