/**
 * Start-up recovery (`forkpoint check [--repair]`): finish or undo what a
 * crash interrupted, then compare records with files. Passes run in an order
 * where each one's repairs are final before the next looks: forks first
 * (they decide the fate of their target boxes), then boxes, then deletions,
 * then the consistency checks over what is left.
 */
import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { homeLayout } from '../../layout.js';
import { openDatabase } from '../../db/open.js';
import { canonicalHome } from '../../db/writer.js';
import { openInProcess } from '../in-process.js';
import { recoverBoxes } from './boxes.js';
import { checkOrphanFiles, checkRecords } from './consistency.js';
import { summarize, type RecoveryContext, type RecoveryItem, type RecoverySummary } from './context.js';
import { recoverDeleting } from './deleting.js';
import { recoverForks } from './forks.js';
import { collectUnread, finishBoxRemovals } from './leftovers.js';

export type { RecoveryItem } from './context.js';
export { markInFlight, type InFlightWork } from './in-flight.js';

export interface RecoverOptions {
  /** Orphan files in bases/ younger than this are reported, never deleted. Default 24 h. */
  orphanGraceMs?: number;
  /** false: a dry run that only reports (read-only connection). Default true. */
  repair?: boolean;
  fsync?: boolean;
  now?: number;
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
}

export const DEFAULT_ORPHAN_GRACE_MS = 24 * 60 * 60 * 1000;
/** How long a settled operation stays in the journal (a retry of it within this time is a no-op). */
export const JOURNAL_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

export async function recover(home: string, options: RecoverOptions = {}): Promise<RecoveryReport> {
  const repair = options.repair ?? true;
  // A dry run changes nothing, not even by making the home's folder (a mistyped path stays absent).
  if (!repair && !existsSync(homeLayout(resolve(home)).dbPath)) {
    return { home: resolve(home), repair, problems: [], collected: [], summary: summarize([], []), journalPruned: 0 };
  }
  const layout = homeLayout(repair ? canonicalHome(home) : realpathSync(home));
  const driver = repair ? openInProcess(layout.home, { fsync: options.fsync ?? true }) : null;
  const db = driver ? driver.writer.connection : openDatabase(layout.dbPath, { readonly: true });
  const collected: string[] = [];
  const ctx: RecoveryContext = {
    layout,
    db,
    flows: driver?.ctx ?? null,
    drainGc: async () => void (driver && collected.push(...(await driver.drainGc()))),
    now: options.now ?? Date.now(),
    orphanGraceMs: options.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS,
  };
  try {
    const problems: RecoveryItem[] = [];
    // Each pass sees what the one before it settled, its GC included.
    for (const pass of [recoverForks, recoverBoxes, recoverDeleting, finishBoxRemovals, collectUnread, checkRecords, checkOrphanFiles]) {
      problems.push(...(await pass(ctx)));
      await ctx.drainGc();
    }
    const journalPruned = driver ? driver.writer.apply({ type: 'pruneJournal', before: ctx.now - JOURNAL_RETENTION_MS }).deleted : 0;
    return { home: layout.home, repair, problems, collected, summary: summarize(problems, collected), journalPruned };
  } finally {
    if (driver) driver.close();
    else db.close();
  }
}

/** The CLI's text form of a report. */
export function formatRecoveryReport(report: RecoveryReport): string {
  if (report.problems.length === 0) return `${report.home}: consistent, nothing to recover`;
  const inFlight = report.summary.inFlight ? `, ${report.summary.inFlight} of them in flight` : '';
  const lines = report.problems.map((p) => {
    const what = p.inFlight ? 'in flight: a running job is on it' : p.action === 'none' ? 'needs attention' : p.repaired ? `repaired: ${p.action}` : `would ${p.action}`;
    return `  ${p.subject} ${p.id ?? p.path ?? ''}: ${p.problem} — ${what}`;
  });
  const collected = report.collected.length ? [`  collected ${report.collected.length} bases: ${report.collected.join(', ')}`] : [];
  return [`${report.home}: ${report.problems.length} problem(s)${inFlight}${report.repair ? '' : ' (dry run)'}`, ...lines, ...collected].join('\n');
}
