/** The box's disk is written and valid: creating → ready. */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { parseBoxId } from '../../names.js';
import { findBox } from '../sql/findBox.js';
import { settleOp } from '../sql/settleOp.js';
import { updateBox } from '../sql/updateBox.js';
import type { BoxRecord } from '../types.js';
import type { CommandHandler } from './context.js';

export const commitBox: CommandHandler<'commitBox'> = (db, cmd, ctx) => {
  const boxId = parseBoxId(cmd.boxId);
  const box = findBox(db, boxId);
  if (!box) throw new ForkpointError(ErrorCodes.UNKNOWN_BOX, `unknown box ${boxId}`, { id: boxId });
  if (box.state === 'removing') {
    throw new ForkpointError(ErrorCodes.CONFLICT, `cannot commit box ${boxId}: it is being removed`, { id: boxId });
  }
  if (box.state === 'creating') {
    updateBox(db, boxId, 'ready', box.baseId);
    settleOp(db, box.opId, 'createBox', 'done', ctx.now());
  }
  return findBox(db, boxId) as BoxRecord;
};
