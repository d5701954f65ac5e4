/**
 * Whether the kernel stops users from hard-linking files they could not read (Linux
 * fs.protected_hardlinks = 1, the default of most distributions): then a hard link in an import
 * folder proves that whoever made it owns the file or may read and write it, and a root service
 * reading it reads nothing its caller could not. Where it is off (or unknown: not Linux), anyone
 * may link /etc/shadow into a folder of theirs on the same file system, so the import readers
 * refuse files with more than one name.
 */
import { readFileSync } from 'node:fs';

let known: boolean | undefined;

export function hardLinksProtected(): boolean {
  if (known === undefined) {
    try {
      known = readFileSync('/proc/sys/fs/protected_hardlinks', 'utf8').trim() === '1';
    } catch {
      known = false;
    }
  }
  return known;
}
