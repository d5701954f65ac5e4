/**
 * Record a rootfs cache entry (a raw ext4 file already written into bases/).
 * The path must be `<home>/bases/<id>.ext4|.qcow2`: the id comes from the file
 * name, and nothing outside bases/ ever becomes a record GC could act on
 * (invariant 5).
 */
import { basename, dirname } from 'node:path';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { parseBaseId } from '../../ids.js';
import { GLOBAL_SOURCE, parseName } from '../../names.js';
import { findBaseById } from '../sql/findBaseById.js';
import { findRootfs } from '../sql/findRootfs.js';
import { insertBase } from '../sql/insertBase.js';
import type { BaseDiskRecord } from '../types.js';
import type { CommandHandler } from './context.js';

const BASE_FILE_RE = /^(.+)\.(ext4|qcow2)$/;

export const registerRootfs: CommandHandler<'registerRootfs'> = (db, cmd, ctx) => {
  const key = parseName(cmd.key, 'rootfs key');
  const path = cmd.disk.basePath;
  const match = BASE_FILE_RE.exec(basename(path));
  if (dirname(path) !== ctx.layout.basesDir || !match) {
    throw new ForkpointError(
      ErrorCodes.INVALID_ARGUMENT,
      `rootfs file ${path} must be ${ctx.layout.basesDir}/<id>.ext4 (or .qcow2)`,
      { path, field: 'disk.basePath' },
    );
  }
  const id = parseBaseId(match[1]);
  const existing = findRootfs(db, key);
  if (existing) {
    throw new ForkpointError(ErrorCodes.ALREADY_EXISTS, `rootfs ${JSON.stringify(key)} is already registered as base ${existing.id}`, {
      id: existing.id,
      field: 'key',
    });
  }
  if (findBaseById(db, id)) throw new ForkpointError(ErrorCodes.ALREADY_EXISTS, `base ${id} already exists`, { id, path });
  const record: BaseDiskRecord = {
    id,
    sourceBoxId: GLOBAL_SOURCE,
    name: key,
    kind: 'rootfs',
    state: 'ready',
    basePath: path,
    containerDiskBytes: cmd.disk.containerDiskBytes,
    sizeBytes: cmd.disk.sizeBytes,
    parentId: null,
    opId: cmd.op,
    tombstoned: false,
    createdAt: ctx.now(),
  };
  insertBase(db, record);
  return record;
};
