/**
 * What removing a snapshot does. The source box always reads its snapshot
 * (its disk is a COW child of it, directly or through later forks), so its
 * own ref never blocks removal; other boxes and child bases do, unless forced.
 */
export interface SnapshotReaders {
  /** Boxes other than the snapshot's source that read it (refs or box rows). */
  otherBoxes: string[];
  /** Ids of bases forked on top of it. */
  childBases: string[];
  /** Whether the source box still reads it. */
  sourceReads: boolean;
}

export type SnapshotRemovalDecision =
  | { action: 'refuse'; dependents: string[] }
  | { action: 'tombstone' }
  | { action: 'claim' };

export function decideSnapshotRemoval(readers: SnapshotReaders, force: boolean): SnapshotRemovalDecision {
  const others = [...readers.otherBoxes.map((b) => `box ${b}`), ...readers.childBases.map((b) => `base ${b}`)];
  if (others.length > 0 && !force) return { action: 'refuse', dependents: others };
  if (others.length > 0 || readers.sourceReads) return { action: 'tombstone' };
  return { action: 'claim' };
}
