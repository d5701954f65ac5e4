/** Evaluate the GC rule and, if it says so, mark the base deleting: shared by claimGc and explicit removals. */
import type { Database } from 'better-sqlite3';
import { decideGcClaim, type GcClaimOptions } from '../rules/gcClaim.js';
import { firstReader } from '../sql/firstReader.js';
import { findBaseById } from '../sql/findBaseById.js';
import { updateBaseState } from '../sql/updateBaseState.js';
import type { ClaimGcResult } from '../types.js';

export function claimBase(db: Database, baseId: string, options: GcClaimOptions = {}): ClaimGcResult {
  const base = findBaseById(db, baseId);
  const decision = decideGcClaim(base, () => firstReader(db, baseId), options);
  if (decision.action === 'keep') return { claimed: false, baseId, reason: decision.reason };
  if (decision.action === 'claim') updateBaseState(db, baseId, 'ready', 'deleting');
  return { claimed: true, baseId, path: base!.basePath, parentId: base!.parentId, sizeBytes: base!.sizeBytes };
}
