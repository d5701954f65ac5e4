/** The fork's files are in place: base ready, the source box reads (and refs) it. */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { addRef } from '../sql/addRef.js';
import { findBaseById } from '../sql/findBaseById.js';
import { markBaseReady } from '../sql/markBaseReady.js';
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
  const sourceBox = (begun.payload as { sourceBox: string }).sourceBox;
  markBaseReady(db, base.id, cmd.disk, cmd.parentId);
  addRef(db, base.id, sourceBox, ctx.now());
  updateBox(db, sourceBox, 'ready', base.id);
  settleOp(db, cmd.op, 'beginFork', 'done', ctx.now());
  return findBaseById(db, base.id) as BaseDiskRecord;
};
