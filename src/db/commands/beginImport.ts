/**
 * Journal an OCI import (flows/import.ts) before any file is copied (invariant 2): rows for the
 * bases to copy in (creating, each named by its layer digest, parented on the layer below) and
 * for the box (creating, on the top base: so nothing it will read can be collected meanwhile).
 * Bases imported before with the same digest on the same parent are reused, not copied again.
 */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { basePath, boxDiskPath } from '../../layout.js';
import { parseBoxId } from '../../names.js';
import { findBaseById } from '../sql/findBaseById.js';
import { findBox } from '../sql/findBox.js';
import { findImportedBase } from '../sql/findImportedBase.js';
import { insertBase } from '../sql/insertBase.js';
import { insertBox } from '../sql/insertBox.js';
import type { BeginImportResult } from '../types.js';
import type { CommandHandler } from './context.js';
import { refuseUnownedFolder } from './guards.js';

export const beginImport: CommandHandler<'beginImport'> = (db, cmd, ctx) => {
  const boxId = parseBoxId(cmd.boxId);
  if (findBox(db, boxId)) throw new ForkpointError(ErrorCodes.ALREADY_EXISTS, `box ${boxId} already exists`, { id: boxId });
  refuseUnownedFolder(ctx.layout, boxId);
  const now = ctx.now();
  const layers: BeginImportResult['layers'] = [];
  let parent: string | null = null;
  for (const layer of cmd.layers) {
    const found = findImportedBase(db, layer.digest, parent);
    let id = found?.id;
    if (!found) {
      id = ctx.mintId();
      while (findBaseById(db, id)) id = ctx.mintId();
      insertBase(db, {
        id,
        sourceBoxId: boxId,
        name: layer.digest,
        kind: 'clone_base',
        state: 'creating',
        basePath: basePath(ctx.layout, id, layer.format === 'raw' ? 'ext4' : 'qcow2'),
        containerDiskBytes: 0,
        sizeBytes: 0,
        parentId: parent,
        opId: cmd.op,
        tombstoned: false,
        createdAt: now,
      });
    }
    const rec = findBaseById(db, id!)!;
    layers.push({ digest: layer.digest, format: layer.format, baseId: rec.id, basePath: rec.basePath, reused: !!found });
    parent = rec.id;
  }
  const diskPath = boxDiskPath(ctx.layout, boxId);
  insertBox(db, { id: boxId, state: 'creating', diskPath, baseId: parent, opId: cmd.op, createdAt: now });
  return { boxId, diskPath, layers };
};
