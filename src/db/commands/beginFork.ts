/**
 * Journal a fork before any file moves (invariant 2): the base row exists as
 * `creating` with its final path, so a crash at any later instruction leaves
 * recovery enough to finish or undo the fork.
 */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { basePath, boxDiskPath } from '../../layout.js';
import { parseBoxId, parseName, parseSnapshotName } from '../../names.js';
import { findBaseById } from '../sql/findBaseById.js';
import { findBox } from '../sql/findBox.js';
import { findSnapshot } from '../sql/findSnapshot.js';
import { insertBase } from '../sql/insertBase.js';
import { insertBox } from '../sql/insertBox.js';
import type { CommandHandler } from './context.js';
import { refuseForkInProgress, refuseUnownedFolder } from './guards.js';

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
    if (findBox(db, target)) {
      throw new ForkpointError(ErrorCodes.ALREADY_EXISTS, `clone target box ${target} already exists`, { id: target });
    }
    refuseUnownedFolder(ctx.layout, target);
  }

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
  for (const t of targetDisks) {
    insertBox(db, { id: t.boxId, state: 'creating', diskPath: t.diskPath, baseId: id, opId: cmd.op, createdAt: now });
  }
  return { baseId: id, basePath: path, sourceDiskPath: source.diskPath, targets: targetDisks, mode: cmd.mode ?? 'move', previousBaseId: source.baseId };
};
