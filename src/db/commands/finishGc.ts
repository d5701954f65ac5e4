/**
 * The claimed base's file is gone: drop its row and name the parent to try
 * next (the cascade). Finishing a base already gone is a no-op, so the step
 * can be re-run; finishing one that was never claimed is refused.
 */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { parseBaseId } from '../../ids.js';
import { deleteBase } from '../sql/deleteBase.js';
import { findBaseById } from '../sql/findBaseById.js';
import type { CommandHandler } from './context.js';

export const finishGc: CommandHandler<'finishGc'> = (db, cmd) => {
  const id = parseBaseId(cmd.baseId);
  const base = findBaseById(db, id);
  if (!base) return { baseId: id, parentId: null };
  if (base.state !== 'deleting') {
    throw new ForkpointError(ErrorCodes.CONFLICT, `cannot finish GC of base ${id}: it was not claimed (state ${base.state})`, {
      id,
    });
  }
  deleteBase(db, id);
  return { baseId: id, parentId: base.parentId };
};
