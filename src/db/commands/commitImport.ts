/** An import's files are in place: its new bases ready, the box ready with its ref on the top base. */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { addRef } from '../sql/addRef.js';
import { findBaseById } from '../sql/findBaseById.js';
import { findOp } from '../sql/findOp.js';
import { markBaseReady } from '../sql/markBaseReady.js';
import { settleOp } from '../sql/settleOp.js';
import { updateBox } from '../sql/updateBox.js';
import type { BeginImportResult } from '../types.js';
import type { CommandHandler } from './context.js';

export const commitImport: CommandHandler<'commitImport'> = (db, cmd, ctx) => {
  const entry = findOp(db, cmd.op, 'beginImport');
  if (!entry || entry.state !== 'pending') throw new ForkpointError(ErrorCodes.CONFLICT, `cannot commit import ${cmd.op}: it is ${entry ? entry.state : 'not begun'}`, { op: cmd.op });
  const begun = entry.result as BeginImportResult;
  const fresh = begun.layers.filter((l) => !l.reused);
  if (cmd.disks.length !== fresh.length || cmd.disks.some((d, i) => d.basePath !== fresh[i]!.basePath)) {
    throw new ForkpointError(ErrorCodes.CONFLICT, `cannot commit import ${cmd.op}: the files given are not the ones it journalled`, { op: cmd.op });
  }
  fresh.forEach((l, i) => markBaseReady(db, l.baseId, cmd.disks[i]!, findBaseById(db, l.baseId)?.parentId ?? null));
  const top = begun.layers[begun.layers.length - 1]?.baseId ?? null;
  if (top) addRef(db, top, begun.boxId, ctx.now());
  updateBox(db, begun.boxId, 'ready', top);
  settleOp(db, cmd.op, 'beginImport', 'done', ctx.now());
  return { boxId: begun.boxId, baseId: top };
};
