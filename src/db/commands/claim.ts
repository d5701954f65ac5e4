/** Evaluate the GC rule and, if it says so, mark the base deleting: shared by claimGc and explicit removals. */
import type { Database } from 'better-sqlite3';
import { decideGcClaim, type GcClaimOptions } from '../rules/gcClaim.js';
import { countReaders } from '../sql/countReaders.js';
import { findBaseById } from '../sql/findBaseById.js';
import { updateBaseState } from '../sql/updateBaseState.js';
import type { ClaimGcResult } from '../types.js';

export function claimBase(db: Database, baseId: string, options: GcClaimOptions = {}): ClaimGcResult {
  const base = findBaseById(db, baseId);
  const readers = base ? countReaders(db, baseId) : { refs: 0, boxes: 0, children: 0 };
  const decision = decideGcClaim(base, readers, options);
  if (decision.action === 'keep') return { claimed: false, baseId, reason: decision.reason };
  if (decision.action === 'claim') updateBaseState(db, baseId, 'ready', 'deleting');
  return { claimed: true, baseId, path: base!.basePath, parentId: base!.parentId, sizeBytes: base!.sizeBytes };
}
