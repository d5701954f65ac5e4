/**
 * Records against files: every ready base has its file, its read-only mode and
 * the parent its header names; every ready box has its disk; every file in
 * bases/ has a record. Orphan files are moved to trash/ (never unlinked: a wrong record
 * must not cost a file; the trash is purged after its retention), and only
 * once older than the grace period (a rootfs being copied in, or a fork's file
 * in flight, is young) and read by no image.
 */
import { chmodSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findParentBase } from '../../file-steps/paths.js';
import { BASE_MODE } from '../../file-steps/steps.js';
import { findBaseByPath } from '../../db/sql/findBaseByPath.js';
import { listBases } from '../../db/sql/listBases.js';
import { listBoxes } from '../../db/sql/listBoxes.js';
import { homeBackings } from './backing-readers.js';
import { act, item, type RecoveryContext, type RecoveryItem } from './context.js';
import { moveToTrash } from './trash.js';

export async function checkBaseRecords(ctx: RecoveryContext): Promise<RecoveryItem[]> {
  const out: RecoveryItem[] = [];
  for (const base of listBases(ctx.db, { state: 'ready', includeTombstoned: true })) {
    const at = { subject: 'base' as const, id: base.id, path: base.basePath };
    if (!existsSync(base.basePath)) {
      out.push(item({ ...at, problem: `base ${base.id} has a record but no file`, action: 'none' }, false));
      continue;
    }
    // A fork makes the base read-only before its folder fsync; a crash can lose that mode change
    // (POSIX does not promise it), and a base must never be writable (invariant 6) nor readable by others (7).
    const mode = statSync(base.basePath).mode & 0o777;
    if (mode !== BASE_MODE) {
      const want = `0${BASE_MODE.toString(8)}`;
      out.push(
        await act(ctx, { ...at, problem: `base ${base.id} has mode ${mode.toString(8)}, not read-only ${want}`, action: `make it read-only (${want})` }, () =>
          chmodSync(base.basePath, BASE_MODE),
        ),
      );
    }
    if (!base.basePath.endsWith('.qcow2')) continue; // raw rootfs: no header, no parent
    let headerParent: string | null;
    try {
      headerParent = findParentBase(ctx.layout, base.basePath);
    } catch (err) {
      out.push(item({ ...at, problem: `base ${base.id} cannot be read: ${(err as Error).message}`, action: 'none' }, false));
      continue;
    }
    const headerParentId = headerParent ? (findBaseByPath(ctx.db, headerParent)?.id ?? `unrecorded ${headerParent}`) : null;
    if (headerParentId !== base.parentId) {
      out.push(item({ ...at, problem: `base ${base.id}: record says parent ${base.parentId}, header says ${headerParentId}`, action: 'none' }, false));
    }
  }
  return out;
}

/** Report only: ready boxes whose disk is gone. */
export async function reportBoxesWithoutDisks(ctx: RecoveryContext): Promise<RecoveryItem[]> {
  const out: RecoveryItem[] = [];
  for (const box of listBoxes(ctx.db, { state: 'ready' })) {
    if (!existsSync(box.diskPath)) {
      out.push(item({ subject: 'box', id: box.id, path: box.diskPath, problem: `box ${box.id} has no disk`, action: 'none' }, false));
    }
  }
  return out;
}

/**
 * Every image a box disk or a base file names as its backing file: an orphan
 * file that something still reads is kept whatever its age (invariant 1 does
 * not depend on the records being right).
 */
function backingFilesInUse(ctx: RecoveryContext): Set<string> {
  return new Set(homeBackings(ctx.layout).map(([, backing]) => backing));
}

export async function checkOrphanFiles(ctx: RecoveryContext): Promise<RecoveryItem[]> {
  if (!existsSync(ctx.layout.basesDir)) return [];
  const out: RecoveryItem[] = [];
  let inUse: Set<string> | null = null; // read only if some orphan is old enough to delete
  for (const name of readdirSync(ctx.layout.basesDir).sort()) {
    const path = join(ctx.layout.basesDir, name);
    if (findBaseByPath(ctx.db, path)) continue;
    const ageMs = ctx.now - statSync(path).mtimeMs;
    const problem = `${name} in bases/ has no record (age ${Math.round(ageMs / 1000)} s)`;
    if (ageMs < ctx.orphanGraceMs) {
      out.push(item({ subject: 'file', path, problem, action: 'none yet: younger than the grace period' }, false));
      continue;
    }
    inUse ??= backingFilesInUse(ctx);
    if (inUse.has(path)) {
      out.push(item({ subject: 'file', path, problem: `${problem}, but an image reads it as its backing file`, action: 'none: kept while read' }, false));
      continue;
    }
    let trashedTo: string | undefined;
    const moved = await act(ctx, { subject: 'file', path, problem, action: `move the orphan file to trash/ (kept ${days(ctx.trashRetentionMs)} days)` }, (flows) => {
      trashedTo = moveToTrash(ctx.layout, path, problem, { now: ctx.now, retentionMs: ctx.trashRetentionMs, fsync: flows.fsync });
    });
    out.push(trashedTo ? { ...moved, trashedTo } : moved);
  }
  return out;
}

const days = (ms: number): string => String(Math.round((ms / 86_400_000) * 10) / 10);
