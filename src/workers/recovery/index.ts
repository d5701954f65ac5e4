/**
 * Start-up recovery (`forkpoint check [--repair]`): finish or undo what a
 * crash interrupted, then compare records with files. Passes run in an order
 * where each one's repairs are final before the next looks: forks first
 * (they decide the fate of their target boxes), then boxes, then deletions,
 * then the consistency checks over what is left.
 */
import type { Database } from 'better-sqlite3';
import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCodes, isForkpointError } from '../../errors.js';
import { homeLayout, type HomeLayout } from '../../layout.js';
import { openDatabase } from '../../db/open.js';
import { canonicalHome } from '../../db/writer.js';
import type { JobContext } from '../flows/context.js';
import { openInProcess } from '../in-process.js';
import { recoverBoxes } from './boxes.js';
import { checkBaseRecords, checkOrphanFiles, reportBoxesWithoutDisks } from './consistency.js';
import { checkBoxDisks } from './box-disks.js';
import { summarize, type RecoveryContext, type RecoveryItem, type RecoverySummary } from './context.js';
import { recoverDeleting } from './deleting.js';
import { recoverForks } from './forks.js';
import { recoverRestores } from './restores.js';
import { collectUnread, finishBoxRemovals, reportUnrecordedBoxFolders } from './leftovers.js';
import { purgeTrash, TRASH_RETENTION_MS, type TrashSummary } from './trash.js';

export type { RecoveryItem } from './context.js';
export { isSettled } from './context.js';
export { purgeTrash, listTrash, moveToTrash, trashDir, TRASH_RETENTION_MS, type TrashEntry, type TrashNote, type TrashSummary } from './trash.js';
export { rebuildRecords, formatRebuildReport, type RebuildReport } from './rebuild.js';
export { markInFlight, type InFlightWork } from './in-flight.js';

export interface RecoverOptions {
  /** Orphan files in bases/ younger than this are reported, never deleted. Default 24 h. */
  orphanGraceMs?: number;
  /** false: a dry run that only reports (read-only connection). Default true. */
  repair?: boolean;
  /** Trashed orphans older than this are purged by a repairing run. Default 7 days. */
  trashRetentionMs?: number;
  fsync?: boolean;
  now?: number;
  /**
   * Repair through a running pipeline instead of opening the home: its ports (the writer thread,
   * the file pool; GC requests go to its queue) and a read-only connection. The pipeline must
   * run no job meanwhile (it pauses its workers), or recovery would settle work in progress.
   */
  live?: { flows: JobContext; db: Database };
  /**
   * Run the passes that only report, each a walk over every box: folders in boxes/ without a
   * record, ready boxes without a disk, box disks a fork refuses (box-disks.ts reads every
   * chain). Default true; a CLI command's own pipeline passes false: nobody reads its start-up
   * report, a fork refuses a bad disk by itself, and at 29,000 boxes they cost ~0.3 s of every
   * command. `check` and serve run them.
   */
  reports?: boolean;
}

export interface RecoveryReport {
  home: string;
  repair: boolean;
  /** Everything found, with the action taken (repaired) or that would be taken. */
  problems: RecoveryItem[];
  /** Bases garbage-collected by cascades the repairs started. */
  collected: string[];
  /** Counts for a one-line log. */
  summary: RecoverySummary;
  /** Settled journal entries older than the retention, dropped (repair only). */
  journalPruned: number;
  /** What trash/ holds after this run, and what it purged (repair) or would purge (dry run). */
  trash: TrashSummary;
}

export const DEFAULT_ORPHAN_GRACE_MS = 24 * 60 * 60 * 1000;
/** How long a settled operation stays in the journal (a retry of it within this time is a no-op). */
export const JOURNAL_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

export async function recover(home: string, options: RecoverOptions = {}): Promise<RecoveryReport> {
  const repair = options.repair ?? true;
  const now = options.now ?? Date.now();
  const trashRetentionMs = options.trashRetentionMs ?? TRASH_RETENTION_MS;
  let layout: HomeLayout;
  let db: Database;
  const live = repair ? options.live : undefined;
  const driver = repair && !live ? openInProcess(canonicalHome(home), { fsync: options.fsync ?? true }) : null;
  if (live) {
    layout = live.flows.layout;
    db = live.db;
  } else if (driver) {
    layout = driver.layout;
    db = driver.writer.connection;
  } else {
    // A dry run changes nothing, not even by making the home's folder (a mistyped path stays absent).
    if (!existsSync(resolve(home))) return emptyReport(homeLayout(resolve(home)), repair, now, trashRetentionMs);
    layout = homeLayout(realpathSync(home));
    const opened = openForReport(layout);
    if ('unusable' in opened) return { ...emptyReport(layout, repair, now, trashRetentionMs), ...withProblems([opened.unusable]) };
    if (opened.db === null) return emptyReport(layout, repair, now, trashRetentionMs);
    db = opened.db;
  }
  const collected: string[] = [];
  const ctx: RecoveryContext = {
    layout,
    db,
    flows: live?.flows ?? driver?.ctx ?? null,
    drainGc: async () => void (driver && collected.push(...(await driver.drainGc()))),
    now,
    orphanGraceMs: options.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS,
    trashRetentionMs,
  };
  try {
    const problems: RecoveryItem[] = [];
    // Each pass sees what the one before it settled, its GC included.
    const passes = [
      recoverForks,
      recoverRestores,
      recoverBoxes,
      recoverDeleting,
      finishBoxRemovals,
      reportUnrecordedBoxFolders,
      collectUnread,
      checkBaseRecords,
      reportBoxesWithoutDisks,
      checkBoxDisks,
      checkOrphanFiles,
    ];
    const reportOnly = new Set([reportUnrecordedBoxFolders, reportBoxesWithoutDisks, checkBoxDisks]);
    for (const pass of passes.filter((p) => (options.reports ?? true) || !reportOnly.has(p))) {
      problems.push(...(await pass(ctx)));
      await ctx.drainGc();
    }
    const prune = { type: 'pruneJournal' as const, before: ctx.now - JOURNAL_RETENTION_MS };
    const journalPruned = live ? (await live.flows.writer.apply(prune)).deleted : driver ? driver.writer.apply(prune).deleted : 0;
    const trash = purgeTrash(layout, { now, retentionMs: trashRetentionMs, dryRun: !repair, fsync: options.fsync ?? true });
    return { home: layout.home, repair, problems, collected, summary: summarize(problems, collected), journalPruned, trash };
  } finally {
    if (driver) driver.close();
    else if (!live) db.close();
  }
}

function emptyReport(layout: HomeLayout, repair: boolean, now: number, retentionMs: number): RecoveryReport {
  const trash = purgeTrash(layout, { now, retentionMs, dryRun: true });
  return { home: layout.home, repair, problems: [], collected: [], summary: summarize([], []), journalPruned: 0, trash };
}

const withProblems = (problems: RecoveryItem[]) => ({ problems, summary: summarize(problems, []) });

/**
 * The dry run's read-only connection, every page checked first. No database
 * in an empty home: nothing to report. A database that is missing while the
 * home has files, or that is damaged: that is the report (one item that names
 * the way out), not "consistent".
 */
function openForReport(layout: HomeLayout): { db: Database | null } | { unusable: RecoveryItem } {
  try {
    return { db: openDatabase(layout.dbPath, { readonly: true, verify: true }) };
  } catch (err) {
    if (isForkpointError(err, ErrorCodes.NOT_FOUND)) return { db: null };
    if (isForkpointError(err, ErrorCodes.DB_MISSING) || isForkpointError(err, ErrorCodes.DB_INVALID)) {
      const problem = err.message;
      return { unusable: { subject: 'file', path: layout.dbPath, problem, action: 'none', repaired: false, code: err.code } };
    }
    throw err;
  }
}

/** The CLI's text form of a report. */
export function formatRecoveryReport(report: RecoveryReport): string {
  const trash = formatTrash(report);
  if (report.problems.length === 0) return [`${report.home}: consistent, nothing to recover`, ...trash].join('\n');
  const inFlight = report.summary.inFlight ? `, ${report.summary.inFlight} of them in flight` : '';
  const lines = report.problems.map((p) => {
    // 'none', 'none: why' and 'none yet: why' are actions nobody takes: not "would none: …".
    const leftAlone = /^none(?: yet)?(?:: (.*))?$/.exec(p.action);
    const what = p.inFlight
      ? 'in flight: a running job is on it'
      : leftAlone
        ? leftAlone[1] === undefined
          ? 'needs attention'
          : `left alone: ${leftAlone[1]}`
        : p.repaired
          ? `repaired: ${p.action}`
          : `would ${p.action}`;
    return `  ${p.subject} ${p.id ?? p.path ?? ''}: ${p.problem} — ${what}${p.trashedTo ? ` (now ${p.trashedTo})` : ''}`;
  });
  const collected = report.collected.length ? [`  collected ${report.collected.length} bases: ${report.collected.join(', ')}`] : [];
  return [`${report.home}: ${report.problems.length} problem(s)${inFlight}${report.repair ? '' : ' (dry run)'}`, ...lines, ...collected, ...trash].join('\n');
}

/** One line about trash/, when it holds or purged anything (reports from an older service have no `trash`). */
function formatTrash(report: RecoveryReport): string[] {
  const t = report.trash as TrashSummary | undefined;
  if (!t || (t.entries === 0 && t.purged.length === 0)) return [];
  const purged = t.purged.length ? `; purged ${t.purged.length} past the retention` : '';
  const due = t.due ? `, ${t.due} past the retention (a repair purges them)` : '';
  return [`  trash/: ${t.entries} file(s), ${t.bytes} bytes${due}${purged}`];
}
