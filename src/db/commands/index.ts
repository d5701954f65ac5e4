/** Command type → handler. Adding a command means a schema entry, a handler file and a line here. */
import type { WriterCommandType } from '../types.js';
import { abortBox } from './abortBox.js';
import { abortBoxes } from './abortBoxes.js';
import { abortFork } from './abortFork.js';
import { addRefs } from './addRefs.js';
import { beginFork } from './beginFork.js';
import { claimGc } from './claimGc.js';
import { commitBox } from './commitBox.js';
import { commitFork } from './commitFork.js';
import type { CommandHandler } from './context.js';
import { createBox } from './createBox.js';
import { finishGc } from './finishGc.js';
import { finishRemoveBox } from './finishRemoveBox.js';
import { finishRemoveBoxes } from './finishRemoveBoxes.js';
import { registerRootfs } from './registerRootfs.js';
import { pruneJournal } from './pruneJournal.js';
import { removeBox } from './removeBox.js';
import { removeBoxes } from './removeBoxes.js';
import { removeRootfs } from './removeRootfs.js';
import { removeSnapshot } from './removeSnapshot.js';
import { abortCompact } from './abortCompact.js';
import { abortImport } from './abortImport.js';
import { beginImport } from './beginImport.js';
import { commitImport } from './commitImport.js';
import { abortRestore } from './abortRestore.js';
import { beginCompact } from './beginCompact.js';
import { commitCompact } from './commitCompact.js';
import { beginRestore } from './beginRestore.js';
import { commitRestore } from './commitRestore.js';

export const handlers: { [T in WriterCommandType]: CommandHandler<T> } = {
  createBox,
  commitBox,
  abortBox,
  abortBoxes,
  beginFork,
  commitFork,
  abortFork,
  addRefs,
  removeBox,
  finishRemoveBox,
  removeBoxes,
  finishRemoveBoxes,
  claimGc,
  finishGc,
  removeSnapshot,
  registerRootfs,
  removeRootfs,
  pruneJournal,
  beginRestore,
  commitRestore,
  abortRestore,
  beginCompact,
  commitCompact,
  abortCompact,
  beginImport,
  commitImport,
  abortImport,
};

/** Journal states: these stay pending until a later command settles them (what recovery looks for). */
export const OPENS_PENDING: ReadonlySet<WriterCommandType> = new Set<WriterCommandType>(['beginFork', 'createBox', 'beginRestore', 'beginCompact', 'beginImport']);
