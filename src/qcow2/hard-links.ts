/**
 * Whether the kernel stops users from hard-linking files they could not read (Linux
 * fs.protected_hardlinks = 1, the default of most distributions): then a hard link in an import
 * folder proves that whoever made it owns the file or may read and write it, and a root service
 * reading it reads nothing its caller could not. Where it is off (or unknown: not Linux), anyone
 * may link /etc/shadow into a folder of theirs on the same file system, so the import readers
 * refuse files with more than one name.
 */
import { readFileSync } from 'node:fs';
import { ErrorCodes, ForkpointError } from '../errors.js';

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

/** Refuse a file with more than one name where the kernel lets anyone link any file: it may be one its linker could not read. */
export function refuseForeignHardLink(nlink: number | bigint, path: string, field?: string): void {
  if (nlink > 1 && !hardLinksProtected()) {
    throw new ForkpointError(
      ErrorCodes.FORBIDDEN,
      `${field ? `${field}: ` : ''}${path} is a hard link (${nlink} names) and this kernel lets anyone link any file (fs.protected_hardlinks is off): copy it instead`,
      { ...(field ? { field } : {}), path, rule: 'hard-link' },
    );
  }
}
