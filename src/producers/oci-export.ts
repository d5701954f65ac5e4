/**
 * `box export` / `snapshot export`: a box's disk (or a snapshot) and its whole backing chain into
 * an OCI image layout (src/oci/export.ts). Reads the home only (records through a read-only
 * connection, files by their paths), so it needs no pipeline and no Redis. Like a fork, it expects
 * the box stopped or paused: its own disk is read as it is at that moment.
 */
import type { DbReader } from '../db/reader.js';
import type { BaseDiskRecord } from '../db/types.js';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { exportImage, type ExportResult } from '../oci/export.js';
import type { LayerFormat } from '../oci/layout.js';
import { readBackingChain } from '../qcow2/chain.js';
import { readHeader } from '../qcow2/read-header.js';

export interface ExportTarget {
  boxId: string;
  /** Export this snapshot of the box instead of the box's disk. */
  snapshot?: string;
  dir: string;
  /** Default: the box id (a snapshot: `<box>-<name>`). */
  tag?: string;
}

export function exportFromHome(reader: DbReader, t: ExportTarget): ExportResult {
  const box = reader.findBox(t.boxId);
  let top: string;
  let created: number;
  if (t.snapshot !== undefined) {
    const snap: BaseDiskRecord | null = reader.findSnapshot(t.boxId, t.snapshot);
    if (!snap || snap.state !== 'ready') throw new ForkpointError(ErrorCodes.UNKNOWN_SNAPSHOT, `box ${t.boxId} has no snapshot named ${JSON.stringify(t.snapshot)}`, { id: t.boxId, field: 'name' });
    top = snap.basePath;
    created = snap.createdAt;
  } else {
    if (!box || box.state !== 'ready') throw new ForkpointError(ErrorCodes.UNKNOWN_BOX, box ? `box ${t.boxId} is not ready (state ${box.state})` : `unknown box ${t.boxId}`, { id: t.boxId });
    top = box.diskPath;
    created = box.createdAt;
  }
  // The chain as qemu reads it (depth cap and loop guard included), bottom first.
  const chain = readBackingChain(top).map((e) => ({ path: e.path, format: e.format as LayerFormat }));
  const files = [...chain.reverse(), { path: top, format: 'qcow2' as const }];
  return exportImage({
    dir: t.dir,
    home: reader.layout.home,
    tag: t.tag ?? (t.snapshot !== undefined ? `${t.boxId}-${t.snapshot}` : t.boxId),
    files,
    kind: t.snapshot !== undefined ? 'snapshot' : 'box',
    boxId: t.boxId,
    ...(t.snapshot !== undefined ? { snapshot: t.snapshot } : {}),
    virtualSize: readHeader(top).header.size,
    created: new Date(created).toISOString(),
  });
}
