/** Read-only views of a home (no Redis needed): `bases ls|why|info`, `tree`, `gc --dry-run`; and `gc`, `check`. */
import { Option, type Command } from 'commander';
import { buildForest, renderForest, type Forest, type ForestBase } from '../../forest.js';
import { readForest, withReader } from '../../home-view.js';
import { ErrorCodes } from '../../../errors.js';
import type { HomeLayout } from '../../../layout.js';
import { action, ForkpointError, printResult } from '../output.js';
import { openHome, withSession, type GlobalFlags } from '../session.js';
import { formatBytes } from '../units.js';
import { stdoutIsTTY, tableText } from '../table.js';
import { registerBaseInfoCommands } from './info.js';
import type { RecoveryReport } from '../../../workers/recovery/index.js';

const EMPTY_FOREST = buildForest([], [], new Map());

/** Every base of a forest, by id, with its size. */
function basesOf(forest: Forest): Map<string, number> {
  const out = new Map<string, number>();
  const visit = (b: ForestBase) => {
    out.set(b.id, b.sizeBytes);
    b.children.forEach(visit);
  };
  forest.roots.forEach(visit);
  return out;
}

export function registerInspectCommands(program: Command): void {
  const bases = program.command('bases').description('base disks (fork points)');
  registerBaseInfoCommands(bases);
  bases
    .command('ls')
    .addOption(new Option('--kind <kind>', 'only bases of this kind').choices(['snapshot', 'clone_base', 'rootfs']))
    .option('--all', 'include removed snapshots still read by clones')
    .description('list base disks')
    .action(
      action(async (o: { kind?: 'snapshot' | 'clone_base' | 'rootfs'; all?: boolean }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        const { layout } = openHome(flags, 'read');
        const rows = await withReader(layout, [], (r) =>
          r.listBases({ ...(o.kind ? { kind: o.kind } : {}), includeTombstoned: o.all ?? false }).map((b) => ({ ...b, refs: r.dependentBoxes(b.id) })),
        );
        printResult(rows, flags, (bs) =>
          bs.length === 0
            ? 'no bases'
            : tableText(
                ['BASE', 'KIND', 'STATE', 'NAME', 'PARENT', 'REFS', 'SIZE'],
                bs.map((b) => [b.id, b.kind, b.state, b.name ?? '-', `parent=${b.parentId ?? '-'}`, `refs=${b.refs.length}`, formatBytes(b.sizeBytes)]),
                stdoutIsTTY(),
              ),
        );
      }),
    );

  program
    .command('tree')
    .description('the forest of bases and the boxes that read them, with totals')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        const { layout } = openHome(flags, 'read');
        const forest = await withReader(layout, EMPTY_FOREST, readForest);
        printResult(forest, flags, (f) => renderForest(f, formatBytes));
      }),
    );

  program
    .command('gc')
    .option('--dry-run', 'only say what would be reclaimed')
    .description('collect every clone base nothing reads (cascading to parents); snapshots and rootfs are kept')
    .action(
      action(async (o: { dryRun?: boolean }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        const { layout } = openHome(flags, o.dryRun ? 'read' : 'write');
        const before = await withReader(layout, EMPTY_FOREST, readForest);
        if (o.dryRun) {
          const t = before.totals;
          printResult({ dryRun: true, bases: t.reclaimable, reclaimableBytes: t.reclaimableBytes }, flags, (r) =>
            r.bases.length === 0 ? 'nothing to reclaim' : `would reclaim ${r.bases.length} bases, ${formatBytes(r.reclaimableBytes)}: ${r.bases.join(' ')}`,
          );
          return;
        }
        await withSession(flags, async (s) => (await s.client.gc()).result(), 'write');
        const after = basesOf(await withReader(layout, EMPTY_FOREST, readForest));
        // The bases gone since (the command's start-up GC included), not the change in totals: a
        // clone meanwhile adds a base, and "collected -3 bases" was what that read.
        const gone = [...basesOf(before)].filter(([id]) => !after.has(id));
        const reclaimedBytes = gone.reduce((n, [, bytes]) => n + bytes, 0);
        printResult({ dryRun: false, collected: gone.length, reclaimedBytes }, flags, (r) => `collected ${r.collected} bases, ${formatBytes(r.reclaimedBytes)}`);
      }),
    );

  program
    .command('check')
    .option('--repair', 'finish or undo half-done operations, move orphans past the grace period to trash/, purge trash/ past its retention')
    .option('--rebuild', 'the database is lost: rebuild the records from the files (never over a database; changes no file)')
    .option('--purge-trash', 'delete everything in trash/ (orphans recovery moved there) for good')
    .description('the recovery report: half-done operations, orphan files, records without files, a missing or damaged database; exit 1 if problems (after --repair: if some still need a person)')
    .action(
      action(async (o: { repair?: boolean; rebuild?: boolean; purgeTrash?: boolean }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        const chosen = [o.repair && '--repair', o.rebuild && '--rebuild', o.purgeTrash && '--purge-trash'].filter((x): x is string => typeof x === 'string');
        if (chosen.length > 1) {
          throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `check: ${chosen.join(' and ')} do not go together; run them one at a time`, { field: chosen[1] });
        }
        // Repair and rebuild write to the home (and mint its id if it has none); the rest only read it.
        const { layout, homeId } = openHome(flags, o.repair || o.rebuild ? 'write' : 'read');
        if (o.purgeTrash) return purgeTrashCommand(layout, flags);
        const { recover, formatRecoveryReport, rebuildRecords, formatRebuildReport, isSettled } = await import('../../../workers/recovery/index.js');
        const { askServiceForCheck } = await import('../live-check.js');
        const { lockHomeOrThrow, ownerNow } = await import('../../../runtime/home-lock.js');
        // A repair goes through the service when one owns the home (it pauses its jobs meanwhile).
        const viaService = o.repair ? await askServiceForCheck(layout, true) : null;
        if (viaService?.report) {
          const report = { ...viaService.report, checkedBy: viaService.checkedBy };
          printResult(report, flags, (r) => `${formatRecoveryReport(r)}\n(repaired by forkpoint serve at ${r.checkedBy}, its jobs paused meanwhile)`);
          if (!isSettled(report.summary, true)) process.exitCode = 1;
          return;
        }
        if (viaService?.why) throw new ForkpointError(ErrorCodes.HOME_LOCKED, `cannot repair through the service: ${viaService.why}`, { path: layout.home });
        // Repair and rebuild write: they need the home to itself. A report only reads.
        const lock = o.repair || o.rebuild
          ? lockHomeOrThrow(layout.runDir, ownerNow('cli', homeId ?? ''), layout.home)
          : null;
        try {
          if (o.rebuild) {
            printResult(rebuildRecords(layout.home), flags, formatRebuildReport);
            return;
          }
          let report: RecoveryReport & { checkedBy?: string };
          const live = o.repair ? null : await askServiceForCheck(layout);
          if (live?.report) {
            report = { ...live.report, checkedBy: live.checkedBy };
          } else {
            if (live?.why) process.stderr.write(`forkpoint: ${live.why}; reading the files instead, where jobs running now may show as problems\n`);
            report = await recover(layout.home, { repair: o.repair ?? false });
          }
          printResult(report, flags, (r) => (r.checkedBy ? `${formatRecoveryReport(r)}\n(checked by forkpoint serve at ${r.checkedBy}: jobs running now are marked in flight)` : formatRecoveryReport(r)));
          if (!isSettled(report.summary, o.repair === true)) process.exitCode = 1;
        } finally {
          lock?.release();
        }
      }),
    );
}

/** `check --purge-trash`: every entry of trash/, for good. No lock: no record and no job reads the trash. */
async function purgeTrashCommand(layout: HomeLayout, flags: GlobalFlags): Promise<void> {
  const { purgeTrash } = await import('../../../workers/recovery/index.js');
  const result = purgeTrash(layout, { now: Date.now(), all: true });
  printResult(result, flags, (r) =>
    r.purged.length === 0
      ? `${layout.home}: trash/ is empty`
      : [`${layout.home}: purged ${r.purged.length} file(s) from trash/`, ...r.purged.map((p) => `  ${p.path}${p.from ? ` (was ${p.from})` : ''}`)].join('\n'),
  );
}
