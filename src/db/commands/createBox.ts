/**
 * Register a box whose disk is about to be written (a fresh image, or a child
 * of `baseId`). The ref is taken now, before the child file exists, so the
 * base cannot be collected while the box is being made.
 */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { boxDiskPath } from '../../layout.js';
import { parseBoxId } from '../../names.js';
import { addRef } from '../sql/addRef.js';
import { findBox } from '../sql/findBox.js';
import { insertBox } from '../sql/insertBox.js';
import type { BoxRecord } from '../types.js';
import type { CommandHandler } from './context.js';
import { refuseUnownedFolder, requireReadableBase } from './guards.js';

export const createBox: CommandHandler<'createBox'> = (db, cmd, ctx) => {
  const boxId = parseBoxId(cmd.boxId);
  if (findBox(db, boxId)) throw new ForkpointError(ErrorCodes.ALREADY_EXISTS, `box ${boxId} already exists`, { id: boxId });
  if (!cmd.adopt) refuseUnownedFolder(ctx.layout, boxId);
  const base = cmd.baseId === null ? null : requireReadableBase(db, cmd.baseId);
  const now = ctx.now();
  const record: BoxRecord = {
    id: boxId,
    state: 'creating',
    diskPath: boxDiskPath(ctx.layout, boxId),
    baseId: base?.id ?? null,
    opId: cmd.op,
    createdAt: now,
  };
  insertBox(db, record);
  if (base) addRef(db, base.id, boxId, now);
  return record;
};
