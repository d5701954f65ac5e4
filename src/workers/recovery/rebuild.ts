/**
 * `forkpoint check --rebuild`: the records of a home whose database is lost,
 * rebuilt from its files. It reads headers and folder names only: it never
 * deletes, moves or changes a file, and writes the new database in one piece
 * (src/db/rebuild.ts), only where there is none.
 *
 * What the files say, and the rule where they say nothing:
 * - `bases/<id>.ext4` is a rootfs image (only rootfs images are raw), under the
 *   generated key `recovered-<id>`.
 * - `bases/<id>.qcow2` becomes a snapshot named `recovered-<id>`, always. A
 *   snapshot and a clone base are the same files (the source box's disk is a
 *   child of the base, and so are the disks of its clones), so nothing can
 *   tell them apart. GC collects a clone base and never a snapshot: calling a
 *   snapshot a clone base could cost it, calling a clone base a snapshot only
 *   keeps a file until someone removes it. Each one something reads is
 *   reported as undecided, with the command that releases it.
 * - A base's parent is the first base file of its backing chain (what the
 *   recovery check compares `parent_id` with).
 * - `boxes/<id>/disks/container.qcow2`, a valid image: a ready box whose base
 *   is the base file its disk reads directly, with a ref on every base of its
 *   chain (a box that depends on a base holds a ref on it).
 * - Not recorded, only reported: names in bases/ that are not base files (the
 *   orphan pass moves them to trash/ in time, as any orphan), box folders
 *   without a valid disk or with a name that is not a box id (a folder no
 *   record owns is never removed).
 *
 * Snapshot names, rootfs keys and which box a snapshot was taken of are not in
 * the files: they are lost. The caller holds the home lock.
 */
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { diskFacts } from '../../file-steps/disk-facts.js';
import { baseIdOfPath, findParentBase } from '../../file-steps/paths.js';
import { assertRawRootfsImage } from '../../file-steps/steps.js';
import { boxDiskPath, homeLayout, type HomeLayout } from '../../layout.js';
import { GLOBAL_SOURCE, nameProblem } from '../../names.js';
import { readBackingFilePath } from '../../qcow2/backing.js';
import { readBackingChain } from '../../qcow2/chain.js';
import { readHeader } from '../../qcow2/read-header.js';
import { homeContent } from '../../db/open.js';
import { refuseExistingDatabase, writeRebuiltDatabase } from '../../db/rebuild.js';
import type { BaseDiskRecord, BaseKind, BoxRecord } from '../../db/types.js';
import { canonicalHome } from '../../db/writer.js';
import type { RecoveryItem } from './context.js';

/** The source box of a rebuilt snapshot: the files do not say which box it was taken of. */
export const RECOVERED_SOURCE = '__recovered__';
export const recoveredName = (baseId: string): string => `recovered-${baseId}`;

export interface RebuiltBase {
  id: string;
  kind: BaseKind;
  name: string;
  parentId: string | null;
  path: string;
  /** What reads it directly: `box <id>` (its disk is a child of it) or `base <id>`. */
  readBy: string[];
  /** Why this kind. */
  why: string;
}

export interface RebuildReport {
  home: string;
  database: string;
  bases: RebuiltBase[];
  boxes: { id: string; baseId: string | null; refs: string[] }[];
  /** What the files could not decide, and what the rebuild did instead (nothing here changed a file). */
  undecided: RecoveryItem[];
  summary: { snapshots: number; rootfs: number; boxes: number; refs: number; undecided: number };
}

interface BaseFacts {
  id: string;
  path: string;
  kind: 'snapshot' | 'rootfs';
  createdAt: number;
  containerDiskBytes: number;
  sizeBytes: number;
  /** The first base file of its chain, by path (resolved to an id once every base is known). */
  parentPath: string | null;
  parentId: string | null;
  problems: string[];
}

interface BoxFacts {
  id: string;
  diskPath: string;
  createdAt: number;
  /** The base file its disk reads directly, by path. */
  backing: string | null;
  /** Every file of its backing chain, nearest first (null: the chain cannot be read). */
  chain: string[] | null;
  problems: string[];
}

const reason = (err: unknown): string => (err as Error).message;

function scanBase(layout: HomeLayout, path: string, id: string): BaseFacts {
  const st = statSync(path);
  const facts: BaseFacts = {
    id,
    path,
    kind: path.endsWith('.ext4') ? 'rootfs' : 'snapshot',
    createdAt: Math.floor(st.mtimeMs),
    containerDiskBytes: st.size,
    sizeBytes: st.blocks * 512,
    parentPath: null,
    parentId: null,
    problems: [],
  };
  if (facts.kind === 'rootfs') {
    try {
      assertRawRootfsImage(path);
    } catch (err) {
      facts.problems.push(`not a raw ext4 image (${reason(err)}); recorded as a rootfs all the same (its name says so)`);
    }
    return facts;
  }
  try {
    facts.containerDiskBytes = readHeader(path).header.size;
  } catch (err) {
    facts.problems.push(`its header cannot be read (${reason(err)})`);
    return facts;
  }
  try {
    facts.parentPath = findParentBase(layout, path);
  } catch (err) {
    // The chain is broken further down: the direct backing file still names the parent.
    const direct = readBackingFilePath(path)?.resolved ?? null;
    facts.parentPath = direct !== null && baseIdOfPath(layout, direct) !== null ? direct : null;
    facts.problems.push(`its backing chain cannot be read (${reason(err)})`);
  }
  return facts;
}

function scanBox(layout: HomeLayout, id: string): BoxFacts | string {
  const diskPath = boxDiskPath(layout, id);
  const disk = diskFacts(diskPath);
  if (disk.state === 'missing') return `no disk (${diskPath} is missing)`;
  if (disk.state === 'invalid') return `its disk is not a valid image (${disk.why})`;
  const facts: BoxFacts = { id, diskPath, createdAt: Math.floor(statSync(diskPath).mtimeMs), backing: disk.backing, chain: null, problems: [] };
  try {
    facts.chain = readBackingChain(diskPath).map((e) => e.path);
  } catch (err) {
    facts.problems.push(`its backing chain cannot be read (${reason(err)}); it holds a ref on its direct base only`);
  }
  return facts;
}

/** Parents before children; a loop (the chain reader refuses those, so only a file changed meanwhile) loses its link. */
function parentsFirst(bases: Map<string, BaseFacts>): BaseFacts[] {
  const out: BaseFacts[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (b: BaseFacts) => {
    if (state.get(b.id) === 'done') return;
    state.set(b.id, 'visiting');
    const parent = b.parentId === null ? undefined : bases.get(b.parentId);
    if (parent && state.get(parent.id) === 'visiting') {
      b.problems.push(`its chain loops back through base ${parent.id}; recorded with no parent`);
      b.parentId = null;
    } else if (parent) {
      visit(parent);
    }
    state.set(b.id, 'done');
    out.push(b);
  };
  for (const b of [...bases.values()].sort((x, y) => (x.id < y.id ? -1 : 1))) visit(b);
  return out;
}

export function rebuildRecords(home: string, o: { now?: number } = {}): RebuildReport {
  const layout = homeLayout(canonicalHome(home));
  const now = o.now ?? Date.now();
  const opId = `rebuild-${now}`;
  refuseExistingDatabase(layout);
  const content = homeContent(layout.home);
  if (content.bases === 0 && content.boxes === 0) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `nothing to rebuild from: ${layout.basesDir} and ${layout.boxesDir} are empty or missing (an empty home starts its database on first use)`, {
      path: layout.home,
    });
  }
  const undecided: RecoveryItem[] = [];
  const note = (i: Omit<RecoveryItem, 'repaired'>) => undecided.push({ ...i, repaired: false });

  // 1. bases/
  const bases = new Map<string, BaseFacts>();
  for (const name of content.bases ? readdirSync(layout.basesDir).sort() : []) {
    const path = join(layout.basesDir, name);
    const id = baseIdOfPath(layout, path);
    if (id === null || !lstatSync(path).isFile()) {
      const what = id === null ? 'not a base file name (<8 of [0-9A-Za-z]>.qcow2 or .ext4)' : 'not a regular file';
      note({ subject: 'file', path, problem: `${name} in bases/: ${what}`, action: 'not recorded: the orphan pass moves it to trash/ once past the grace period and read by nothing' });
      continue;
    }
    bases.set(id, scanBase(layout, path, id));
  }
  for (const b of bases.values()) {
    if (b.parentPath === null) continue;
    const parentId = baseIdOfPath(layout, b.parentPath);
    if (parentId !== null && bases.has(parentId)) b.parentId = parentId;
    else b.problems.push(`its backing file ${b.parentPath} is not a base file here; recorded with no parent`);
  }
  const ordered = parentsFirst(bases);

  // 2. boxes/
  const boxes: BoxFacts[] = [];
  for (const name of content.boxes ? readdirSync(layout.boxesDir).sort() : []) {
    const path = join(layout.boxesDir, name);
    const problem = name === GLOBAL_SOURCE ? 'is reserved' : nameProblem(name);
    const scanned = problem !== null ? `its name ${problem}` : !lstatSync(path).isDirectory() ? 'not a folder' : scanBox(layout, name);
    if (typeof scanned === 'string') {
      note({ subject: 'box', id: name, path, problem: `boxes/${name}: ${scanned}`, action: 'not recorded: kept as it is (recovery reports a folder no record owns, and never removes it)' });
      continue;
    }
    boxes.push(scanned);
  }

  // 3. records
  const recordedId = (path: string | null): string | null => {
    const id = path === null ? null : baseIdOfPath(layout, path);
    return id !== null && bases.has(id) ? id : null;
  };
  const boxRecords: BoxRecord[] = [];
  const refs: { baseId: string; boxId: string; createdAt: number }[] = [];
  const reportBoxes: RebuildReport['boxes'] = [];
  for (const box of boxes) {
    const baseId = recordedId(box.backing);
    if (box.backing !== null && baseId === null) box.problems.push(`its disk reads ${box.backing}, which is not a base file here; recorded with no base`);
    const chainIds = (box.chain ?? []).map(recordedId).filter((id): id is string => id !== null);
    const held = [...new Set(baseId ? [baseId, ...chainIds] : chainIds)];
    boxRecords.push({ id: box.id, state: 'ready', diskPath: box.diskPath, baseId, opId, createdAt: box.createdAt });
    for (const id of held) refs.push({ baseId: id, boxId: box.id, createdAt: now });
    reportBoxes.push({ id: box.id, baseId, refs: held });
    for (const problem of box.problems) note({ subject: 'box', id: box.id, path: box.diskPath, problem, action: 'recorded as a ready box' });
  }
  const readers = new Map<string, string[]>();
  const reads = (baseId: string | null, who: string) => baseId !== null && readers.set(baseId, [...(readers.get(baseId) ?? []), who]);
  for (const box of boxRecords) reads(box.baseId, `box ${box.id}`);
  for (const b of ordered) reads(b.parentId, `base ${b.id}`);

  const baseRecords: BaseDiskRecord[] = [];
  const reportBases: RebuiltBase[] = [];
  for (const b of ordered) {
    const name = recoveredName(b.id);
    const readBy = readers.get(b.id) ?? [];
    baseRecords.push({
      id: b.id,
      sourceBoxId: b.kind === 'rootfs' ? GLOBAL_SOURCE : RECOVERED_SOURCE,
      name,
      kind: b.kind,
      state: 'ready',
      basePath: b.path,
      containerDiskBytes: b.containerDiskBytes,
      sizeBytes: b.sizeBytes,
      parentId: b.parentId,
      opId,
      tombstoned: false,
      createdAt: b.createdAt,
    });
    const at = { subject: 'base' as const, id: b.id, path: b.path };
    let why: string;
    if (b.kind === 'rootfs') {
      why = 'a raw image: only rootfs images are raw';
    } else if (readBy.length === 0) {
      why = 'read by nothing: a clone base nothing reads is collected, so this is a snapshot';
    } else {
      why = 'undecided: a snapshot or a clone base (kept as a snapshot)';
      note({
        ...at,
        problem: `base ${b.id} is read by ${readBy.join(', ')}: a snapshot or a clone base? The files are the same either way`,
        action: `kept as snapshot ${name}, which GC never collects; if it is a clone base: forkpoint snapshot rm ${name} --force (then it goes with its last reader)`,
      });
    }
    for (const problem of b.problems) note({ ...at, problem: `base ${b.id}: ${problem}`, action: `recorded as ${b.kind} ${name}` });
    reportBases.push({ id: b.id, kind: b.kind, name, parentId: b.parentId, path: b.path, readBy, why });
  }

  writeRebuiltDatabase(layout, { bases: baseRecords, boxes: boxRecords, refs });
  return {
    home: layout.home,
    database: layout.dbPath,
    bases: reportBases,
    boxes: reportBoxes,
    undecided,
    summary: {
      snapshots: baseRecords.filter((b) => b.kind === 'snapshot').length,
      rootfs: baseRecords.filter((b) => b.kind === 'rootfs').length,
      boxes: boxRecords.length,
      refs: refs.length,
      undecided: undecided.length,
    },
  };
}

/** The CLI's text form of a rebuild. */
export function formatRebuildReport(r: RebuildReport): string {
  const s = r.summary;
  const lines = [
    `${r.home}: rebuilt ${r.database} from the files: ${s.snapshots} snapshot(s), ${s.rootfs} rootfs image(s), ${s.boxes} box(es), ${s.refs} ref(s); no file was changed`,
    ...r.bases.map((b) => `  base ${b.id}  ${b.kind} ${b.name}  parent=${b.parentId ?? '-'}  read by ${b.readBy.length ? b.readBy.join(', ') : 'nothing'}`),
    ...r.boxes.map((b) => `  box ${b.id}  base=${b.baseId ?? '-'}  refs=${b.refs.join(',') || '-'}`),
  ];
  if (r.undecided.length > 0) {
    lines.push(`${r.undecided.length} thing(s) the files could not decide:`);
    for (const u of r.undecided) lines.push(`  ${u.subject} ${u.id ?? u.path ?? ''}: ${u.problem} — ${u.action}`);
  }
  lines.push('Snapshot names and rootfs keys are not in the files: every one is listed as recovered-<id>. Next: forkpoint check (records against files)');
  return lines.join('\n');
}
