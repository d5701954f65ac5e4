/**
 * Explicit snapshot removal (rules in rules/snapshotRemoval.ts): refused while
 * other boxes or child bases read it (unless forced), tombstoned while anything
 * reads it, claimed for deletion when nothing does.
 */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { parseBaseId } from '../../ids.js';
import { decideSnapshotRemoval } from '../rules/snapshotRemoval.js';
import { childBases } from '../sql/childBases.js';
import { dependentBoxes } from '../sql/dependentBoxes.js';
import { findBaseById } from '../sql/findBaseById.js';
import { tombstoneBase } from '../sql/tombstoneBase.js';
import { claimBase } from './claim.js';
import type { CommandHandler } from './context.js';

export const removeSnapshot: CommandHandler<'removeSnapshot'> = (db, cmd) => {
  const id = parseBaseId(cmd.baseId);
  const base = findBaseById(db, id);
  if (!base || base.kind !== 'snapshot') {
    throw new ForkpointError(ErrorCodes.UNKNOWN_SNAPSHOT, `unknown snapshot ${id}`, { id });
  }
  if (base.state === 'creating') {
    throw new ForkpointError(ErrorCodes.CONFLICT, `snapshot ${id} is still being created (op ${base.opId})`, { id });
  }
  if (base.state === 'deleting') return { baseId: id, action: 'claimed', claim: claimBase(db, id, { explicit: true }) };

  const boxes = dependentBoxes(db, id);
  const decision = decideSnapshotRemoval(
    {
      otherBoxes: boxes.filter((b) => b !== base.sourceBoxId),
      childBases: childBases(db, id).map((b) => b.id),
      sourceReads: boxes.includes(base.sourceBoxId),
    },
    cmd.force,
  );
  if (decision.action === 'refuse') {
    throw new ForkpointError(
      ErrorCodes.HAS_DEPENDENTS,
      `snapshot ${id} (${JSON.stringify(base.name)} of box ${base.sourceBoxId}) is read by ${decision.dependents.join(', ')}; use force to hide it until they are gone`,
      { id, dependents: decision.dependents },
    );
  }
  if (decision.action === 'tombstone') {
    tombstoneBase(db, id);
    return { baseId: id, action: 'tombstoned' };
  }
  return { baseId: id, action: 'claimed', claim: claimBase(db, id, { explicit: true }) };
};
