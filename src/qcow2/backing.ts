/** I/O: read the backing file name an image stores, raw and resolved. */
import { readHeader } from './read-header.js';
import { resolveBackingPath } from './backing-path.js';
import type { BackingFilePath } from './types.js';

/** The image's backing file, or null when it stands alone. */
export function readBackingFilePath(path: string): BackingFilePath | null {
  const { header } = readHeader(path);
  if (header.backingFile === null) return null;
  return {
    stored: header.backingFile,
    resolved: resolveBackingPath(path, header.backingFile),
    format: header.backingFormat,
  };
}
