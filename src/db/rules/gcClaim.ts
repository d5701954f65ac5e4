/**
 * The GC rule (DESIGN.md invariant 1), pure so it can be tested on its own:
 * given a base and everything that reads it, may its file be deleted?
 * The writer evaluates it inside the transaction that marks the base
 * deleting, so nothing can start reading the base between decision and mark.
 */
import type { BaseDiskRecord, GcKeptReason } from '../types.js';
import type { ReaderKind } from '../sql/firstReader.js';

export type GcClaimDecision =
  /** Mark it deleting now. */
  | { action: 'claim' }
  /** Already claimed by an earlier attempt (a retried job): hand out the same claim again. */
  | { action: 'reclaim' }
  | { action: 'keep'; reason: GcKeptReason };

export interface GcClaimOptions {
  /** Explicit removal (removeSnapshot, removeRootfs) may claim kinds GC never touches on its own. */
  explicit?: boolean;
}

/**
 * `firstReader` is asked only when the base row alone does not decide: the
 * reader lookups are the part of a claim that costs more as the home grows.
 */
export function decideGcClaim(
  base: BaseDiskRecord | null,
  firstReader: () => ReaderKind | null,
  options: GcClaimOptions = {},
): GcClaimDecision {
  if (base === null) return { action: 'keep', reason: 'gone' };
  // A deleting base already passed this rule, and nothing can have been added since.
  if (base.state === 'deleting') return { action: 'reclaim' };
  if (!options.explicit) {
    if (base.kind === 'rootfs') return { action: 'keep', reason: 'rootfs' };
    if (base.kind === 'snapshot' && !base.tombstoned) return { action: 'keep', reason: 'snapshot' };
  }
  if (base.state !== 'ready') return { action: 'keep', reason: 'not_ready' };
  const reader = firstReader();
  if (reader === 'ref' || reader === 'box') return { action: 'keep', reason: 'has_refs' };
  if (reader === 'child') return { action: 'keep', reason: 'has_children' };
  return { action: 'claim' };
}
