/**
 * I/O: does this file hold exactly the child `plan` describes? A child written
 * without its own fsync (group durability) may, after a power cut, be missing,
 * empty, short, or have its header on disk but not its refcount block: qemu
 * then reports refcount errors although the header parses. A fresh child's
 * bytes are fully known in advance (the plan), so one that was never handed
 * out is judged by comparing them, never by parsing it: anything but an exact
 * match is "not written", to be rewritten or removed.
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import type { ChildPlan } from './child-layout.js';
import { readAt } from './read-header.js';

/** True only for a regular file (not a symlink) of the plan's length whose planned bytes and L1 table read back exactly. */
export function isPlannedChild(path: string, plan: ChildPlan): boolean {
  let fd: number;
  try {
    // O_NOFOLLOW: a symlink is not a child we wrote, whatever it points at.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return false; // missing, a symlink or unreadable: not a child we can trust
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size !== plan.fileLength) return false;
    for (const w of plan.writes) {
      if (!readAt(fd, path, w.offset, w.bytes.length).equals(w.bytes)) return false;
    }
    // The L1 table was never written (a hole): any non-zero byte there would map guest data.
    const l1Bytes = plan.l1Size * 8;
    const l1 = readAt(fd, path, plan.l1TableOffset, l1Bytes);
    return l1.length === l1Bytes && l1.every((b) => b === 0);
  } finally {
    closeSync(fd);
  }
}
