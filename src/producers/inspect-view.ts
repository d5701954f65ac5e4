/**
 * One object per box or base, for `box info`, `bases info` and the HTTP API:
 * the disk (path, guest size, bytes allocated on the host), the chain it
 * reads, its refs and its snapshots. Records come from the reader; the chain
 * of a box is read from its disk's headers (what qemu would open), so a
 * record that disagrees with the file shows here rather than being hidden.
 */
import { statSync } from 'node:fs';
import { whyOf } from '../db/rules/gcWhy.js';
import type { DbReader } from '../db/reader.js';
import { requireBase, requireBox } from '../db/lookups.js';
import type { BaseDiskRecord, BoxRecord } from '../db/types.js';
import { readBackingChain, readHeader } from '../qcow2/index.js';

export interface ChainEntry {
  path: string;
  /** The base record of this file, if it is one of ours. */
  baseId: string | null;
  kind: BaseDiskRecord['kind'] | null;
  name: string | null;
}

export interface BoxInfo {
  box: BoxRecord;
  disk: { path: string; virtualBytes: number | null; allocatedBytes: number | null; problem?: string };
  /** The backing files the disk reads, nearest first. */
  chain: ChainEntry[];
  refs: string[];
  snapshots: BaseDiskRecord[];
}

export interface BaseInfo {
  base: BaseDiskRecord;
  file: { allocatedBytes: number | null };
  /** The bases below it (its parent, the parent's parent, …), from the records. */
  chain: ChainEntry[];
  refs: string[];
  children: string[];
  /** Snapshots whose chains read it (forked on it, directly or further up). */
  snapshots: { id: string; sourceBoxId: string; name: string | null }[];
}

const allocated = (path: string): number | null => {
  try {
    return statSync(path).blocks * 512;
  } catch {
    return null;
  }
};

const entryOf = (reader: DbReader, path: string): ChainEntry => {
  const b = reader.findBaseByPath(path);
  return { path, baseId: b?.id ?? null, kind: b?.kind ?? null, name: b?.name ?? null };
};

export function boxInfo(reader: DbReader, boxId: string, field = 'box'): BoxInfo {
  const box = requireBox(reader.connection, boxId, field);
  const disk: BoxInfo['disk'] = { path: box.diskPath, virtualBytes: null, allocatedBytes: allocated(box.diskPath) };
  let chain: ChainEntry[] = [];
  try {
    disk.virtualBytes = readHeader(box.diskPath).header.size;
    chain = readBackingChain(box.diskPath).map((l) => entryOf(reader, l.path));
  } catch (err) {
    disk.problem = (err as Error).message; // shown, not thrown: `info` is how one finds out
  }
  return { box, disk, chain, refs: reader.refsOfBox(box.id), snapshots: reader.listBases({ kind: 'snapshot', sourceBoxId: box.id }) };
}

export function baseInfo(reader: DbReader, baseId: string): BaseInfo {
  const base = requireBase(reader.connection, baseId, 'id');
  const chain: ChainEntry[] = [];
  const seen = new Set([base.id]);
  for (let p = base.parentId; p !== null; ) {
    const parent = reader.findBase(p);
    if (!parent) {
      chain.push({ path: '', baseId: p, kind: null, name: null }); // a parent with no record: `forkpoint check` reports it
      break;
    }
    if (seen.has(parent.id)) break;
    seen.add(parent.id);
    chain.push({ path: parent.basePath, baseId: parent.id, kind: parent.kind, name: parent.name });
    p = parent.parentId;
  }
  const why = whyOf(reader.connection, base.id)!;
  return {
    base,
    file: { allocatedBytes: allocated(base.basePath) },
    chain,
    refs: why.refs,
    children: reader.childBases(base.id).map((c) => c.id),
    snapshots: why.bases.filter((b) => b.kind === 'snapshot').map((b) => ({ id: b.id, sourceBoxId: b.sourceBoxId, name: b.name })),
  };
}
