/** Row shapes as SQLite returns them, and their mapping to the records of types.ts. */
import type { BaseDiskRecord, BaseKind, BaseState, BoxRecord, BoxState } from './types.js';

export interface BaseDiskRow {
  id: string;
  source_box_id: string;
  name: string | null;
  kind: BaseKind;
  state: BaseState;
  base_path: string;
  container_disk_bytes: number;
  size_bytes: number;
  parent_id: string | null;
  op_id: string;
  tombstoned: number;
  created_at: number;
}

export interface BoxRow {
  id: string;
  state: BoxState;
  disk_path: string;
  base_id: string | null;
  op_id: string;
  created_at: number;
}

export const BASE_COLUMNS =
  'id, source_box_id, name, kind, state, base_path, container_disk_bytes, size_bytes, parent_id, op_id, tombstoned, created_at';
export const BOX_COLUMNS = 'id, state, disk_path, base_id, op_id, created_at';

export function toBaseRecord(row: BaseDiskRow): BaseDiskRecord {
  return {
    id: row.id,
    sourceBoxId: row.source_box_id,
    name: row.name,
    kind: row.kind,
    state: row.state,
    basePath: row.base_path,
    containerDiskBytes: row.container_disk_bytes,
    sizeBytes: row.size_bytes,
    parentId: row.parent_id,
    opId: row.op_id,
    tombstoned: row.tombstoned === 1,
    createdAt: row.created_at,
  };
}

export function toBoxRecord(row: BoxRow): BoxRecord {
  return {
    id: row.id,
    state: row.state,
    diskPath: row.disk_path,
    baseId: row.base_id,
    opId: row.op_id,
    createdAt: row.created_at,
  };
}
