/** Explicit removal of a rootfs cache entry: refused while anything reads it, else claimed for deletion. */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { parseBaseId } from '../../ids.js';
import { childBases } from '../sql/childBases.js';
import { dependentBoxes } from '../sql/dependentBoxes.js';
import { findBaseById } from '../sql/findBaseById.js';
import { claimBase } from './claim.js';
import type { CommandHandler } from './context.js';

export const removeRootfs: CommandHandler<'removeRootfs'> = (db, cmd) => {
  const id = parseBaseId(cmd.baseId);
  const base = findBaseById(db, id);
  if (!base) throw new ForkpointError(ErrorCodes.UNKNOWN_BASE, `unknown base ${id}`, { id });
  if (base.kind !== 'rootfs') {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `base ${id} is a ${base.kind}, not a rootfs`, { id });
  }
  const readers = [...dependentBoxes(db, id).map((b) => `box ${b}`), ...childBases(db, id).map((b) => `base ${b.id}`)];
  if (readers.length > 0 && base.state !== 'deleting') {
    throw new ForkpointError(ErrorCodes.HAS_DEPENDENTS, `rootfs ${JSON.stringify(base.name)} (base ${id}) is read by ${readers.join(', ')}`, {
      id,
      dependents: readers,
    });
  }
  return claimBase(db, id, { explicit: true });
};
