/** Read-only views of a home (no Redis needed): `bases ls`, `tree`, `gc --dry-run`; and `gc`, `check`. */
import type { Command } from 'commander';
import { buildForest, renderForest } from '../../forest.js';
import { readForest, withReader } from '../../home-view.js';
import { action, printResult } from '../output.js';
import { openHome, withSession, type GlobalFlags } from '../session.js';
import { formatBytes } from '../units.js';
import type { RecoveryReport } from '../../../workers/recovery/index.js';

const EMPTY_FOREST = buildForest([], [], new Map());

export function registerInspectCommands(program: Command): void {
  program
    .command('bases')
    .description('base disks (fork points)')
    .command('ls')
    .option('--kind <kind>', 'only snapshot, clone_base or rootfs')
    .option('--all', 'include removed snapshots still read by clones')
    .description('list base disks')
    .action(
      action(async (o: { kind?: 'snapshot' | 'clone_base' | 'rootfs'; all?: boolean }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        const { layout } = openHome(flags);
        const rows = await withReader(layout, [], (r) =>
          r.listBases({ ...(o.kind ? { kind: o.kind } : {}), includeTombstoned: o.all ?? false }).map((b) => ({ ...b, refs: r.dependentBoxes(b.id) })),
        );
        printResult(rows, flags, (bs) =>
          bs.length === 0
            ? 'no bases'
            : bs.map((b) => `${b.id}\t${b.kind}\t${b.state}\t${b.name ?? '-'}\tparent=${b.parentId ?? '-'}\trefs=${b.refs.length}\t${formatBytes(b.sizeBytes)}`).join('\n'),
        );
      }),
    );

  program
    .command('tree')
    .description('the forest of bases and the boxes that read them, with totals')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        const { layout } = openHome(flags);
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
        const { layout } = openHome(flags);
        const before = await withReader(layout, EMPTY_FOREST, readForest);
        if (o.dryRun) {
          const t = before.totals;
          printResult({ dryRun: true, bases: t.reclaimable, reclaimableBytes: t.reclaimableBytes }, flags, (r) =>
            r.bases.length === 0 ? 'nothing to reclaim' : `would reclaim ${r.bases.length} bases, ${formatBytes(r.reclaimableBytes)}: ${r.bases.join(' ')}`,
          );
          return;
        }
        await withSession(flags, async (s) => (await s.client.gc()).result());
        const after = await withReader(layout, EMPTY_FOREST, readForest);
        const freed = before.totals.basesBytes - after.totals.basesBytes;
        const collected = before.totals.bases - after.totals.bases;
        printResult({ dryRun: false, collected, reclaimedBytes: freed }, flags, (r) => `collected ${r.collected} bases, ${formatBytes(r.reclaimedBytes)}`);
      }),
    );

  program
    .command('check')
    .option('--repair', 'finish or undo half-done operations and delete orphans past the grace period')
    .description('the recovery report: half-done operations, orphan files, records without files')
    .action(
      action(async (o: { repair?: boolean }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        const { layout, homeId } = openHome(flags);
        const { recover, formatRecoveryReport } = await import('../../../workers/recovery/index.js');
        const { askServiceForCheck } = await import('../live-check.js');
        const { lockHomeOrThrow, ownerNow } = await import('../../../runtime/home-lock.js');
        // Repair writes: it needs the home to itself. A report only reads.
        const lock = o.repair
          ? lockHomeOrThrow(layout.runDir, ownerNow('cli', homeId), layout.home)
          : null;
        try {
          let report: RecoveryReport & { checkedBy?: string };
          const live = o.repair ? null : await askServiceForCheck(layout);
          if (live?.report) {
            report = { ...live.report, checkedBy: live.checkedBy };
          } else {
            if (live?.why) process.stderr.write(`forkpoint: ${live.why}; reading the files instead, where jobs running now may show as problems\n`);
            report = await recover(layout.home, { repair: o.repair ?? false });
          }
          printResult(report, flags, (r) => (r.checkedBy ? `${formatRecoveryReport(r)}\n(checked by forkpoint serve at ${r.checkedBy}: jobs running now are marked in flight)` : formatRecoveryReport(r)));
          if (!o.repair && report.summary.found - report.summary.inFlight > 0) process.exitCode = 1;
        } finally {
          lock?.release();
        }
      }),
    );
}
