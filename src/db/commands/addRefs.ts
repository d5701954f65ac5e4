/**
 * Clone targets whose children exist now take their refs. Refused once the
 * base is deleting (invariant 1: after a GC claim no reader may be added).
 */
import { parseBoxId } from '../../names.js';
import { addRef } from '../sql/addRef.js';
import { findBox } from '../sql/findBox.js';
import { settleOp } from '../sql/settleOp.js';
import { updateBox } from '../sql/updateBox.js';
import type { CommandHandler } from './context.js';
import { requireReadableBase } from './guards.js';

export const addRefs: CommandHandler<'addRefs'> = (db, cmd, ctx) => {
  const boxIds = cmd.boxIds.map(parseBoxId);
  const base = requireReadableBase(db, cmd.baseId);
  const now = ctx.now();
  let added = 0;
  for (const boxId of boxIds) {
    if (addRef(db, base.id, boxId, now)) added++;
    const box = findBox(db, boxId);
    if (box && box.state === 'creating') {
      updateBox(db, boxId, 'ready', base.id);
      // A box that came with its own createBox (a snapshot clone, a box on the rootfs cache) is
      // finished here, not by commitBox: close that entry too, or it stays pending for ever.
      settleOp(db, box.opId, 'createBox', 'done', now);
    }
  }
  return { baseId: base.id, added };
};
