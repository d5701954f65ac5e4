/**
 * Journal a snapshot restore before any file changes (invariant 2). The box
 * must be ready and not in a fork or another restore; the base must be a live
 * snapshot of this box. The box takes its ref on the snapshot here, so the
 * snapshot cannot be collected while its new child is written.
 */
import { createHash } from 'node:crypto';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { parseBoxId } from '../../names.js';
import { addRef } from '../sql/addRef.js';
import { findBox } from '../sql/findBox.js';
import type { CommandHandler } from './context.js';
import { refuseForkInProgress, requireReadableBase } from './guards.js';

/** Where the replacement disk is written: beside the disk (one folder, so the swap is one rename), named by the op. */
export const stagedRestorePath = (diskPath: string, op: string): string =>
  `${diskPath}.restore-${createHash('sha256').update(op).digest('hex').slice(0, 16)}.new`;

export const beginRestore: CommandHandler<'beginRestore'> = (db, cmd, ctx) => {
  const boxId = parseBoxId(cmd.boxId);
  const box = findBox(db, boxId);
  if (!box) throw new ForkpointError(ErrorCodes.UNKNOWN_BOX, `unknown box ${boxId}`, { id: boxId });
  if (box.state !== 'ready') throw new ForkpointError(ErrorCodes.CONFLICT, `cannot restore box ${boxId}: it is ${box.state}`, { id: boxId });
  refuseForkInProgress(db, boxId, 'restore');
  const base = requireReadableBase(db, cmd.baseId);
  if (base.kind !== 'snapshot' || base.tombstoned || base.sourceBoxId !== boxId) {
    throw new ForkpointError(ErrorCodes.UNKNOWN_SNAPSHOT, `base ${base.id} is not a snapshot of box ${boxId}`, { id: base.id, field: 'name' });
  }
  const addedRef = addRef(db, base.id, boxId, ctx.now());
  return {
    boxId,
    baseId: base.id,
    basePath: base.basePath,
    diskPath: box.diskPath,
    staged: stagedRestorePath(box.diskPath, cmd.op),
    previousBaseId: box.baseId,
    addedRef,
  };
};
