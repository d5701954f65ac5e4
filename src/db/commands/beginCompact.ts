/**
 * Journal a background compaction (flows/compact.ts) before its file is written (invariant 2):
 * the flattened copy's row exists as `creating` with its final path. Until the commit the row
 * names the compacted base as its parent: the copy is being read from it, and a base with a child
 * row is never collected, even if every box that read it is removed meanwhile.
 */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { parseBaseId } from '../../ids.js';
import { basePath } from '../../layout.js';
import { findBaseById } from '../sql/findBaseById.js';
import { findPendingCompaction } from '../sql/findPendingCompaction.js';
import { insertBase } from '../sql/insertBase.js';
import type { CommandHandler } from './context.js';
import { requireReadableBase } from './guards.js';

export const beginCompact: CommandHandler<'beginCompact'> = (db, cmd, ctx) => {
  const source = requireReadableBase(db, parseBaseId(cmd.baseId));
  if (source.kind === 'rootfs') {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `base ${source.id} is a rootfs image: it has no chain to compact`, { id: source.id });
  }
  // One compaction of a base at a time: the flow resumes a pending one under its own op (a replay).
  const pending = findPendingCompaction(db, source.id);
  if (pending) {
    throw new ForkpointError(ErrorCodes.CONFLICT, `base ${source.id} is being compacted already (op ${pending.opId})`, { id: source.id, op: pending.opId });
  }
  let id = ctx.mintId();
  while (findBaseById(db, id)) id = ctx.mintId();
  const path = basePath(ctx.layout, id, 'qcow2');
  insertBase(db, {
    id,
    sourceBoxId: source.sourceBoxId,
    name: null,
    kind: 'clone_base',
    state: 'creating',
    basePath: path,
    containerDiskBytes: 0,
    sizeBytes: 0,
    parentId: source.id,
    opId: cmd.op,
    tombstoned: false,
    createdAt: ctx.now(),
  });
  return { op: cmd.op, baseId: id, basePath: path, sourceId: source.id, sourcePath: source.basePath };
};
