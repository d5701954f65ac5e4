/**
 * The fork's files are in place: base ready, the source box reads (and refs)
 * it. After a flattening fork the source reads only the new base, so its refs
 * to its old chain go in the same transaction: a crash just after the commit
 * must not leave the source holding bases it no longer reads (they would never
 * be collected). The caller then asks for GC of the source's previous base.
 */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { addRef } from '../sql/addRef.js';
import { findBaseById } from '../sql/findBaseById.js';
import { markBaseReady } from '../sql/markBaseReady.js';
import { removeRefsForBoxExcept } from '../sql/removeRefsForBoxExcept.js';
import { settleOp } from '../sql/settleOp.js';
import { updateBox } from '../sql/updateBox.js';
import type { BaseDiskRecord } from '../types.js';
import type { CommandHandler } from './context.js';
import { requireBegunFork } from './forkJournal.js';
import { requireReadableBase } from './guards.js';

export const commitFork: CommandHandler<'commitFork'> = (db, cmd, ctx) => {
  const { begun, base } = requireBegunFork(db, cmd.op, 'commit');
  if (cmd.disk.basePath !== base.basePath) {
    throw new ForkpointError(
      ErrorCodes.CONFLICT,
      `commitFork ${cmd.op}: disk ${cmd.disk.basePath} is not the path journalled for base ${base.id} (${base.basePath})`,
      { id: base.id, path: cmd.disk.basePath },
    );
  }
  if (cmd.parentId !== null) {
    if (cmd.parentId === base.id) {
      throw new ForkpointError(ErrorCodes.CONFLICT, `base ${base.id} cannot be its own parent`, { id: base.id });
    }
    requireReadableBase(db, cmd.parentId);
  }
  const { sourceBox, mode } = begun.payload as { sourceBox: string; mode?: 'move' | 'flatten' };
  markBaseReady(db, base.id, cmd.disk, cmd.parentId);
  if (mode === 'flatten') removeRefsForBoxExcept(db, sourceBox, base.id);
  addRef(db, base.id, sourceBox, ctx.now());
  updateBox(db, sourceBox, 'ready', base.id);
  settleOp(db, cmd.op, 'beginFork', 'done', ctx.now());
  return findBaseById(db, base.id) as BaseDiskRecord;
};
