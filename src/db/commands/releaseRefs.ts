/** After a flattening fork the source box reads only its new base: drop its other refs. */
import { parseBaseId } from '../../ids.js';
import { parseBoxId } from '../../names.js';
import { removeRefsForBoxExcept } from '../sql/removeRefsForBoxExcept.js';
import type { CommandHandler } from './context.js';

export const releaseRefs: CommandHandler<'releaseRefs'> = (db, cmd) => {
  const boxId = parseBoxId(cmd.boxId);
  const keep = parseBaseId(cmd.keepBaseId);
  return { boxId, touchedBases: removeRefsForBoxExcept(db, boxId, keep) };
};
