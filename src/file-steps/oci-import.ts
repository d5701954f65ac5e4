/**
 * The file half of an OCI import (workers/flows/import.ts): copy the layers the home does not
 * hold into bases/ (verified on the way: src/oci/install-layer.ts), then the box's disk: its own
 * layer (a box export) or a fresh COW child of the top base (a snapshot export). Safe to run again:
 * what a cut-off attempt left at the journalled paths is ours and is written anew.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BeginImportResult, DiskInfo } from '../db/types.js';
import { boxDir, type HomeLayout } from '../layout.js';
import { installLayer } from '../oci/install-layer.js';
import type { LayoutImage } from '../oci/read-layout.js';
import { faultPoint } from '../faults.js';
import { fsyncFolder } from '../qcow2/durable.js';
import { writeCowChild } from '../qcow2/write-cow-child.js';
import { homeModes } from '../runtime/home-mode.js';
import { BASE_MODE, DISK_MODE, diskInfoOf, type StepOptions } from './steps.js';

export function ociInstallStep(layout: HomeLayout, image: LayoutImage, begun: BeginImportResult, o: StepOptions = {}): DiskInfo[] {
  const fsync = o.fsync ?? true;
  const made: DiskInfo[] = [];
  begun.layers.forEach((l, i) => {
    const below = i > 0 ? begun.layers[i - 1]! : null;
    if (l.reused) return;
    rmSync(l.basePath, { force: true });
    installLayer(image.dir, image.layers[i]!, l.basePath, { parent: below && { path: below.basePath, format: below.format }, mode: BASE_MODE, fsync });
    made.push(l.format === 'raw' ? rawInfo(l.basePath) : diskInfoOf(l.basePath));
    faultPoint('import:after-layer');
  });
  if (fsync && made.length > 0) fsyncFolder(layout.basesDir);
  const folder = boxDir(layout, begun.boxId);
  rmSync(folder, { recursive: true, force: true }); // the journal made this box id ours; a leftover is our own
  mkdirSync(dirname(begun.diskPath), { recursive: true, mode: homeModes().dir });
  const top = begun.layers[begun.layers.length - 1] ?? null;
  if (image.kind === 'box') {
    installLayer(image.dir, image.layers[image.layers.length - 1]!, begun.diskPath, { parent: top && { path: top.basePath, format: top.format }, mode: DISK_MODE, fsync });
  } else {
    writeCowChild(top!.basePath, begun.diskPath, { fsync, mode: DISK_MODE });
  }
  if (fsync) fsyncFolder(dirname(begun.diskPath));
  return made;
}

/** Remove what an import that is being undone copied in (only its journalled paths). */
export function ociUndoStep(layout: HomeLayout, begun: BeginImportResult): void {
  for (const l of begun.layers) if (!l.reused) rmSync(l.basePath, { force: true });
  rmSync(boxDir(layout, begun.boxId), { recursive: true, force: true });
}

function rawInfo(path: string): DiskInfo {
  const st = statSync(path);
  return { basePath: path, containerDiskBytes: st.size, sizeBytes: st.blocks * 512 };
}
