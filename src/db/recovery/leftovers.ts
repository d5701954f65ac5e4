/**
 * What a crash between an operation's last record change and its file work
 * leaves: a box whose removal was recorded (row `removing`) but whose folder
 * may remain, and clone bases (or tombstoned snapshots) nothing reads any more
 * whose GC never ran. Both are finished here. A box folder with no row at all
 * is only reported: it is not ours (a removal keeps its row until the folder
 * is gone, so a removed box never leaves a folder without a row).
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { boxDir } from '../../layout.js';
import { collectAll, collectGarbage } from '../core/gc.js';
import { decideGcClaim } from '../rules/gcClaim.js';
import { firstReader } from '../sql/firstReader.js';
import { findBox } from '../sql/findBox.js';
import { listBases } from '../sql/listBases.js';
import { listBoxes } from '../sql/listBoxes.js';
import { item, type RecoveryContext, type RecoveryItem } from './context.js';
import { act } from './forks.js';

export function finishBoxRemovals(ctx: RecoveryContext): RecoveryItem[] {
  const out: RecoveryItem[] = [];
  for (const box of listBoxes(ctx.db, { state: 'removing' })) {
    const path = boxDir(ctx.layout, box.id);
    const then = box.baseId ? `, then collect base ${box.baseId} (and its parents) if nothing else reads it` : '';
    out.push(act(ctx, { subject: 'box', id: box.id, path, problem: `box ${box.id} was being removed`, action: `delete its folder and its record${then}` }, () => {
      rmSync(path, { recursive: true, force: true });
      ctx.writer!.apply({ type: 'finishRemoveBox', boxId: box.id });
      ctx.collected.push(...collectAll(ctx.writer!, box.baseId ? [box.baseId] : [], { fsync: ctx.fsync }));
    }));
  }
  if (!existsSync(ctx.layout.boxesDir)) return out;
  for (const name of readdirSync(ctx.layout.boxesDir).sort()) {
    if (findBox(ctx.db, name)) continue;
    out.push(item({ subject: 'box', id: name, path: join(ctx.layout.boxesDir, name), problem: `folder ${name} in boxes/ has no record`, action: 'none' }, false));
  }
  return out;
}

export function collectUnread(ctx: RecoveryContext): RecoveryItem[] {
  const out: RecoveryItem[] = [];
  const candidates = [...listBases(ctx.db, { kind: 'clone_base', state: 'ready' }), ...listBases(ctx.db, { kind: 'snapshot', state: 'ready', includeTombstoned: true })];
  for (const base of candidates) {
    if (ctx.collected.includes(base.id)) continue;
    if (decideGcClaim(base, () => firstReader(ctx.db, base.id)).action !== 'claim') continue;
    out.push(act(ctx, { subject: 'base', id: base.id, path: base.basePath, problem: `base ${base.id} is read by nothing but was never collected`, action: 'collect it (and its unread parents)' }, () => {
      ctx.collected.push(...collectGarbage(ctx.writer!, base.id, { fsync: ctx.fsync }));
    }));
  }
  return out;
}
