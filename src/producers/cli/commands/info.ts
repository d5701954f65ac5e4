/**
 * `forkpoint bases why ID`, `bases info ID` and `box info BOX`: read-only,
 * no Redis. The views and the GC answer are loaded when a command runs, not
 * at start-up (they pull in SQLite and the qcow2 reader).
 */
import type { Command } from 'commander';
import { ErrorCodes, ForkpointError } from '../../../errors.js';
import type { BaseWhy } from '../../../db/rules/gcWhy.js';
import type { BaseInfo, BoxInfo } from '../../inspect-view.js';
import type { DbReader } from '../../../db/reader.js';
import { withReader } from '../../home-view.js';
import { action, printResult } from '../output.js';
import { openHome, type GlobalFlags } from '../session.js';
import { formatBytes } from '../units.js';

/** What keeps a base, in words (one per reason the GC rule gives). */
const KEPT: Record<string, string> = {
  has_refs: 'boxes read it (they hold refs, or their disks back on it)',
  has_children: 'other bases are forked on top of it (their chains read it)',
  snapshot: 'it is a snapshot: never collected automatically, only by `snapshot rm`',
  rootfs: 'it is a rootfs cache image: never collected automatically, only by `rootfs rm`',
  not_ready: 'it is still being created',
  gone: 'it has no record',
};

export function formatWhy(w: BaseWhy): string {
  const b = w.base;
  const label = `base ${b.id} (${b.kind}${b.name ? ` "${b.name}"` : ''}${b.kind === 'snapshot' ? ` of ${b.sourceBoxId}` : ''}${b.tombstoned ? ', removed' : ''}, ${b.state})`;
  const verdict =
    w.decision.action === 'claim' ? 'nothing reads it: the next GC collects it'
    : w.decision.action === 'reclaim' ? 'being collected now'
    : w.collectable ? `kept for now (${KEPT[w.decision.reason]}), but the next GC frees it: every reader is itself unread`
    : `kept: ${KEPT[w.decision.reason]}`;
  const lines = [`${label}: ${verdict}`];
  if (w.refs.length) lines.push(`  refs: ${w.refs.join(' ')}`);
  if (w.boxes.length) lines.push(`  boxes reading it: ${w.boxes.map((x) => (x.via === b.id ? `${x.id} (${x.how})` : `${x.id} (${x.how} on ${x.via})`)).join(', ')}`);
  if (w.bases.length) lines.push(`  bases reading it: ${w.bases.map((x) => `${x.id} ${x.kind}${x.name ? ` "${x.name}"` : ''} (${x.depth} up)`).join(', ')}`);
  if (w.kindRule === null && b.kind === 'clone_base') lines.push('  rule: a clone base is kept exactly while something reads it');
  const f = w.wouldFree;
  if (f && (f.removeBoxes.length || f.removeSnapshots.length || f.removeRootfs)) {
    const steps = [
      ...(f.removeBoxes.length ? [`remove (or restore elsewhere) boxes ${f.removeBoxes.join(' ')}`] : []),
      ...f.removeSnapshots.map((s) => `forkpoint snapshot rm ${s.sourceBoxId} ${s.name}`),
      ...(f.removeRootfs ? [`forkpoint rootfs rm ${f.removeRootfs}`] : []),
    ];
    lines.push(`  would free it: ${steps.join('; then ')}${f.verified ? ' (checked against the GC plan)' : ' (NOT confirmed by the GC plan: see forkpoint check)'}`);
  }
  return lines.join('\n');
}

const chainText = (chain: { path: string; baseId: string | null; kind: string | null }[]) =>
  chain.length === 0 ? '  chain: standalone' : `  chain: ${chain.map((c) => (c.baseId ? `${c.baseId} (${c.kind})` : c.path)).join(' -> ')}`;

function formatBoxInfo(i: BoxInfo): string {
  return [
    `box ${i.box.id} (${i.box.state})`,
    `  disk: ${i.disk.path}, ${i.disk.virtualBytes === null ? '?' : formatBytes(i.disk.virtualBytes)} virtual, ${i.disk.allocatedBytes === null ? '?' : formatBytes(i.disk.allocatedBytes)} allocated${i.disk.problem ? ` — ${i.disk.problem}` : ''}`,
    chainText(i.chain),
    `  refs: ${i.refs.join(' ') || '-'}`,
    `  snapshots: ${i.snapshots.map((s) => `${s.name} (${s.id})`).join(', ') || '-'}`,
  ].join('\n');
}

function formatBaseInfo(i: BaseInfo): string {
  const b = i.base;
  return [
    `base ${b.id} (${b.kind}${b.name ? ` "${b.name}"` : ''}, ${b.state}${b.tombstoned ? ', removed' : ''})`,
    `  file: ${b.basePath}, ${formatBytes(b.containerDiskBytes)} virtual, ${i.file.allocatedBytes === null ? 'missing' : `${formatBytes(i.file.allocatedBytes)} allocated`}`,
    chainText(i.chain),
    `  refs: ${i.refs.join(' ') || '-'}`,
    `  child bases: ${i.children.join(' ') || '-'}`,
    `  snapshots reading it: ${i.snapshots.map((s) => `${s.sourceBoxId}/${s.name} (${s.id})`).join(', ') || '-'}`,
  ].join('\n');
}

const unknownBase = (id: string) => new ForkpointError(ErrorCodes.UNKNOWN_BASE, `no base "${id}"`, { field: 'id', id });

/** Read one object from the home (no Redis, no lock) and print it; a home with no database has none. */
async function showOne<T>(cmd: Command, read: (r: DbReader) => T | null, missing: () => ForkpointError, format: (x: T) => string): Promise<void> {
  const flags = cmd.optsWithGlobals<GlobalFlags>();
  const { layout } = openHome(flags, 'read');
  const found = await withReader(layout, null, read);
  if (found === null) throw missing();
  printResult(found, flags, format);
}

export function registerBaseInfoCommands(bases: Command): void {
  bases
    .command('why')
    .argument('<id>', 'base id')
    .description('why a base is kept: who reads it, the rule that keeps it, and what would free it')
    .action(
      action(async (id: string, _o: unknown, cmd: Command) => {
        const { whyOf } = await import('../../../db/rules/gcWhy.js');
        await showOne(cmd, (r) => whyOf(r.connection, id), () => unknownBase(id), formatWhy);
      }),
    );

  bases
    .command('info')
    .argument('<id>', 'base id')
    .description('one base: its file, the chain below it, its refs, child bases and the snapshots that read it')
    .action(
      action(async (id: string, _o: unknown, cmd: Command) => {
        const { baseInfo } = await import('../../inspect-view.js');
        await showOne(cmd, (r) => baseInfo(r, id), () => unknownBase(id), formatBaseInfo);
      }),
    );
}

export function registerBoxInfoCommand(box: Command): void {
  box
    .command('info')
    .argument('<box>')
    .description('one box: its disk (virtual and allocated bytes), the chain it reads, its refs and snapshots')
    .action(
      action(async (boxId: string, _o: unknown, cmd: Command) => {
        const { boxInfo } = await import('../../inspect-view.js');
        const missing = () => new ForkpointError(ErrorCodes.UNKNOWN_BOX, `no box "${boxId}"`, { field: 'box', id: boxId });
        await showOne(cmd, (r) => boxInfo(r, boxId), missing, formatBoxInfo);
      }),
    );
}
