/**
 * The base/box forest of a home and what GC would reclaim, computed from
 * records alone. Pure: the CLI (`tree`, `gc --dry-run`) and the HTTP API feed
 * it what a DbReader returns.
 */
import { countBoxReaders, planGc } from '../db/rules/gcPlan.js';
import type { BaseDiskRecord, BoxRecord } from '../db/types.js';

export interface ForestBase {
  id: string;
  kind: BaseDiskRecord['kind'];
  name: string | null;
  state: BaseDiskRecord['state'];
  tombstoned: boolean;
  sizeBytes: number;
  containerDiskBytes: number;
  sourceBoxId: string;
  refCount: number;
  /** Bases whose backing chain reads this one next. */
  children: ForestBase[];
  /** Boxes whose container disk is a direct child of this base. */
  boxes: string[];
}

export interface Forest {
  roots: ForestBase[];
  /** Boxes whose disk reads no base. */
  standaloneBoxes: string[];
  totals: { bases: number; boxes: number; basesBytes: number; reclaimableBytes: number; reclaimable: string[] };
}

export function buildForest(bases: BaseDiskRecord[], boxes: BoxRecord[], refCounts: Map<string, number>): Forest {
  const nodes = new Map<string, ForestBase>(
    bases.map((b) => [
      b.id,
      {
        id: b.id,
        kind: b.kind,
        name: b.name,
        state: b.state,
        tombstoned: b.tombstoned,
        sizeBytes: b.sizeBytes,
        containerDiskBytes: b.containerDiskBytes,
        sourceBoxId: b.sourceBoxId,
        refCount: refCounts.get(b.id) ?? 0,
        children: [],
        boxes: [],
      },
    ]),
  );
  const roots: ForestBase[] = [];
  for (const b of bases) {
    const parent = b.parentId !== null ? nodes.get(b.parentId) : undefined;
    (parent ? parent.children : roots).push(nodes.get(b.id)!);
  }
  const standaloneBoxes: string[] = [];
  for (const x of boxes) {
    const base = x.baseId !== null ? nodes.get(x.baseId) : undefined;
    if (base) base.boxes.push(x.id);
    else standaloneBoxes.push(x.id);
  }
  const reclaimable = planGc(bases, countBoxReaders(boxes), refCounts);
  const reclaimableSet = new Set(reclaimable);
  return {
    roots,
    standaloneBoxes,
    totals: {
      bases: bases.length,
      boxes: boxes.length,
      basesBytes: bases.reduce((n, b) => n + b.sizeBytes, 0),
      reclaimableBytes: bases.filter((b) => reclaimableSet.has(b.id)).reduce((n, b) => n + b.sizeBytes, 0),
      reclaimable,
    },
  };
}

/** `tree` output: one line per base, its boxes under it, like `qemu-img info --backing-chain` turned upside down. */
export function renderForest(forest: Forest, formatBytes: (n: number) => string): string {
  const lines: string[] = [];
  const walk = (node: ForestBase, indent: string) => {
    const label = node.kind === 'snapshot' ? `snapshot "${node.name}"` : node.kind === 'rootfs' ? `rootfs "${node.name}"` : 'clone base';
    const flags = [node.state !== 'ready' ? node.state : '', node.tombstoned ? 'removed' : ''].filter(Boolean).join(',');
    lines.push(`${indent}${node.id}  ${label} of ${node.sourceBoxId}  ${formatBytes(node.sizeBytes)}  refs=${node.refCount}${flags ? `  [${flags}]` : ''}`);
    for (const child of node.children) walk(child, `${indent}  `);
    for (const box of node.boxes) lines.push(`${indent}  └─ box ${box}`);
  };
  for (const root of forest.roots) walk(root, '');
  for (const box of forest.standaloneBoxes) lines.push(`box ${box} (standalone disk)`);
  const t = forest.totals;
  lines.push(`${t.bases} bases (${formatBytes(t.basesBytes)}), ${t.boxes} boxes, reclaimable: ${t.reclaimable.length} bases, ${formatBytes(t.reclaimableBytes)}`);
  return lines.join('\n');
}
