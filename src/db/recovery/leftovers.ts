/**
 * What a crash between an operation's last record change and its file work
 * leaves: a box folder whose removal was recorded but not carried out, and
 * clone bases (or tombstoned snapshots) nothing reads any more whose GC never
 * ran. Both are finished here; a box folder with no journalled removal is
 * only reported (it may not be ours).
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { collectGarbage } from '../core/gc.js';
import { decideGcClaim } from '../rules/gcClaim.js';
import { firstReader } from '../sql/firstReader.js';
import { findBox } from '../sql/findBox.js';
import { listBases } from '../sql/listBases.js';
import { item, type RecoveryContext, type RecoveryItem } from './context.js';
import { act } from './forks.js';

export function finishBoxRemovals(ctx: RecoveryContext): RecoveryItem[] {
  if (!existsSync(ctx.layout.boxesDir)) return [];
  const removed = ctx.db.prepare(
    "SELECT 1 FROM op WHERE command = 'removeBox' AND json_extract(payload_json, '$.boxId') = ? LIMIT 1",
  );
  const out: RecoveryItem[] = [];
  for (const name of readdirSync(ctx.layout.boxesDir).sort()) {
    if (findBox(ctx.db, name)) continue;
    const path = join(ctx.layout.boxesDir, name);
    if (!removed.get(name)) {
      out.push(item({ subject: 'box', id: name, path, problem: `folder ${name} in boxes/ has no record`, action: 'none' }, false));
      continue;
    }
    out.push(act(ctx, { subject: 'box', id: name, path, problem: `box ${name} was removed but its folder remains`, action: 'delete the folder' }, () =>
      rmSync(path, { recursive: true, force: true }),
    ));
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
