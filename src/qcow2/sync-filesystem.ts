/**
 * One flush for a whole filesystem: syncfs(2), through coreutils' `sync -f`
 * (Node has no binding; a spawn costs 2.5–6 ms, one per group of children).
 * It writes back every dirty page of that filesystem, other programs' too,
 * so it is the cheaper flush only while little else is dirty: dirtyPageBytes
 * tells the caller which it is (docs/qcow2.md, "Group durability").
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ErrorCodes, ForkpointError } from '../errors.js';

/** Flush the filesystem holding `path`; E_IO naming it if the kernel reports a write-back error. */
export function syncFilesystem(path: string): void {
  const r = spawnSync('sync', ['-f', path], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.error || r.status !== 0) throw flushError(path, r.error?.message ?? (r.stderr.trim() || `sync exited ${r.status}`));
}

/** E_IO naming the folder whose filesystem could not be flushed, and why (sync's own words). */
export function flushError(path: string, problem: string): ForkpointError {
  return new ForkpointError(ErrorCodes.IO, `cannot flush the filesystem of ${path}: ${problem}`, { path });
}

/** Dirty and under-write-back page cache, all filesystems (/proc/meminfo), in bytes; null where the kernel does not say. */
export function dirtyPageBytes(meminfo = readMeminfo()): number | null {
  if (meminfo === null) return null;
  let kib = 0;
  let seen = 0;
  for (const m of meminfo.matchAll(/^(Dirty|Writeback):\s+(\d+) kB$/gm)) {
    kib += Number(m[2]);
    seen++;
  }
  return seen === 2 ? kib * 1024 : null;
}

function readMeminfo(): string | null {
  try {
    return readFileSync('/proc/meminfo', 'utf8');
  } catch {
    return null;
  }
}
