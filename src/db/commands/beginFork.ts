/**
 * Journal a fork before any file moves (invariant 2): the base row exists as
 * `creating` with its final path, so a crash at any later instruction leaves
 * recovery enough to finish or undo the fork.
 */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { basePath, boxDiskPath } from '../../layout.js';
import { parseBoxId, parseName, parseSnapshotName } from '../../names.js';
import { findBaseById } from '../sql/findBaseById.js';
import { existingBoxIds } from '../sql/existingBoxIds.js';
import { findBox } from '../sql/findBox.js';
import { findSnapshot } from '../sql/findSnapshot.js';
import { insertBase } from '../sql/insertBase.js';
import { insertBoxes } from '../sql/insertBoxes.js';
import type { CommandHandler } from './context.js';
import { refuseForkInProgress, refuseUnownedFolders } from './guards.js';

export const beginFork: CommandHandler<'beginFork'> = (db, cmd, ctx) => {
  const sourceBox = parseBoxId(cmd.sourceBox);
  const name =
    cmd.kind === 'snapshot' ? parseSnapshotName(cmd.name) : cmd.name === undefined ? null : parseName(cmd.name, 'snapshot name');
  const targets = (cmd.targets ?? []).map(parseBoxId);

  const source = findBox(db, sourceBox);
  if (!source) throw new ForkpointError(ErrorCodes.UNKNOWN_BOX, `unknown box ${sourceBox}`, { id: sourceBox });
  if (source.state !== 'ready') {
    throw new ForkpointError(ErrorCodes.UNKNOWN_BOX, `box ${sourceBox} is not ready (state ${source.state})`, {
      id: sourceBox,
    });
  }
  refuseForkInProgress(db, sourceBox, 'fork');
  if (cmd.kind === 'snapshot' && findSnapshot(db, sourceBox, name!)) {
    throw new ForkpointError(ErrorCodes.ALREADY_EXISTS, `box ${sourceBox} already has a snapshot named ${JSON.stringify(name)}`, {
      id: sourceBox,
      field: 'name',
    });
  }
  const seen = new Set<string>([sourceBox]);
  for (const target of targets) {
    if (seen.has(target)) {
      throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `clone target ${target} is given twice or is the source box`, {
        id: target,
        field: 'targets',
      });
    }
    seen.add(target);
  }
  // All of them, not the first: a rerun of `clone --count N` under another request must hear which exist.
  const existing = existingBoxIds(db, targets);
  if (existing.length > 0) throw targetsExist(existing, targets.length);
  refuseUnownedFolders(ctx.layout, targets);

  let id = ctx.mintId();
  while (findBaseById(db, id)) id = ctx.mintId(); // 62^8 ids: a repeat is rare, never fatal
  const now = ctx.now();
  const path = basePath(ctx.layout, id, 'qcow2');
  insertBase(db, {
    id,
    sourceBoxId: sourceBox,
    name,
    kind: cmd.kind,
    state: 'creating',
    basePath: path,
    containerDiskBytes: 0,
    sizeBytes: 0,
    parentId: null,
    opId: cmd.op,
    tombstoned: false,
    createdAt: now,
  });
  const targetDisks = targets.map((boxId) => ({ boxId, diskPath: boxDiskPath(ctx.layout, boxId) }));
  insertBoxes(db, targetDisks, { state: 'creating', baseId: id, opId: cmd.op, createdAt: now });
  return { baseId: id, basePath: path, sourceDiskPath: source.diskPath, targets: targetDisks, mode: cmd.mode ?? 'move', previousBaseId: source.baseId };
};

/** One error for every clone target that exists already: how many, and the first few by name. */
function targetsExist(existing: string[], of: number): ForkpointError {
  const shown = existing.slice(0, 5);
  const more = existing.length > shown.length ? ` and ${existing.length - shown.length} more` : '';
  const message =
    existing.length === 1 ? `clone target box ${existing[0]} already exists` : `${existing.length} of the ${of} clone target boxes already exist: ${shown.join(', ')}${more}`;
  return new ForkpointError(ErrorCodes.ALREADY_EXISTS, message, { id: existing[0]!, existing: shown, existingCount: existing.length, field: 'targets' });
}
