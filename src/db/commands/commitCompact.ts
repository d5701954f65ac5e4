/**
 * The flattened copy is written and the given boxes' disks now read it: the copy becomes ready
 * and standalone (no parent), each of those boxes points at it and refs only it (it reads nothing
 * else now), all in one transaction. A box no longer on the compacted base (removed meanwhile) is
 * skipped. The caller asks for GC of what lost its readers.
 */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { parseBoxId } from '../../names.js';
import { addRef } from '../sql/addRef.js';
import { findBaseById } from '../sql/findBaseById.js';
import { findBox } from '../sql/findBox.js';
import { findOp } from '../sql/findOp.js';
import { markBaseReady } from '../sql/markBaseReady.js';
import { removeRefsForBoxExcept } from '../sql/removeRefsForBoxExcept.js';
import { settleOp } from '../sql/settleOp.js';
import { updateBox } from '../sql/updateBox.js';
import type { BeginCompactResult } from '../types.js';
import type { CommandHandler } from './context.js';

export const commitCompact: CommandHandler<'commitCompact'> = (db, cmd, ctx) => {
  const entry = findOp(db, cmd.op, 'beginCompact');
  if (!entry || entry.state !== 'pending') {
    throw new ForkpointError(ErrorCodes.CONFLICT, `cannot commit compaction ${cmd.op}: it is ${entry ? entry.state : 'not begun'}`, { op: cmd.op });
  }
  const begun = entry.result as BeginCompactResult;
  const copy = findBaseById(db, begun.baseId);
  if (!copy || copy.state !== 'creating' || cmd.disk.basePath !== copy.basePath) {
    throw new ForkpointError(ErrorCodes.CONFLICT, `cannot commit compaction ${cmd.op}: base ${begun.baseId} is not the creating copy at ${cmd.disk.basePath}`, {
      op: cmd.op,
      id: begun.baseId,
    });
  }
  markBaseReady(db, copy.id, cmd.disk, null);
  const touched = new Set<string>([begun.sourceId]);
  const repointed: string[] = [];
  for (const boxId of cmd.boxIds.map(parseBoxId)) {
    const box = findBox(db, boxId);
    if (!box || box.state !== 'ready' || box.baseId !== begun.sourceId) continue;
    for (const id of removeRefsForBoxExcept(db, boxId, copy.id)) touched.add(id);
    addRef(db, copy.id, boxId, ctx.now());
    updateBox(db, boxId, 'ready', copy.id);
    repointed.push(boxId);
  }
  touched.add(copy.id); // read by nothing if every box went meanwhile
  settleOp(db, cmd.op, 'beginCompact', 'done', ctx.now());
  return { baseId: copy.id, repointed, touchedBases: [...touched].sort() };
};
