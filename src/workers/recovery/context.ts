/** What each recovery pass receives, and what it reports. */
import type { Database } from 'better-sqlite3';
import type { HomeLayout } from '../../layout.js';
import type { JobContext } from '../flows/context.js';

export interface RecoveryItem {
  subject: 'base' | 'box' | 'file';
  id?: string;
  path?: string;
  /** What was found. */
  problem: string;
  /** What recovery does (or, in a dry run, would do) about it; 'none' when it needs a person. */
  action: string;
  /** True when the action was carried out. */
  repaired: boolean;
  /** Set when the action was tried and failed (a full disk): the problem is still there. */
  failed?: boolean;
  /** The operation whose record this is about, when the record names one (forks). */
  op?: string;
  /** Where a file recovery moved to the trash is now (`mv` it back to `path` to restore it). */
  trashedTo?: string;
  /** The error code, when the item is a refusal (a home whose database is missing or damaged). */
  code?: string;
  /**
   * Set only by a check on a live home (`markInFlight`): a job running right
   * now is working on this subject, so this is its progress, not a problem.
   */
  inFlight?: boolean;
}

/** `inFlight` items (a live check only) count in `found` and in no other count. */
export interface RecoverySummary {
  found: number;
  repaired: number;
  needsAttention: number;
  /** Repairs tried that failed: their problems are still there (a repair's run exits 1). */
  failed: number;
  collected: number;
  inFlight: number;
}

export function summarize(problems: RecoveryItem[], collected: string[]): RecoverySummary {
  return {
    found: problems.length,
    repaired: problems.filter((p) => p.repaired).length,
    needsAttention: problems.filter((p) => p.action === 'none' && !p.inFlight).length,
    failed: problems.filter((p) => p.failed === true).length,
    collected: collected.length,
    inFlight: problems.filter((p) => p.inFlight).length,
  };
}

/**
 * Whether the home is left consistent: a report found nothing (in-flight work aside); a repair
 * left nothing that needs a person and failed nothing (a full disk). `check` exits 1 otherwise: a
 * script must not read "repaired" where nothing could be. A report of an older service has no `failed`.
 */
export function isSettled(summary: Partial<RecoverySummary> & Pick<RecoverySummary, 'found' | 'inFlight' | 'needsAttention'>, repaired: boolean): boolean {
  return repaired ? summary.needsAttention + (summary.failed ?? 0) === 0 : summary.found - summary.inFlight === 0;
}

export interface RecoveryContext {
  layout: HomeLayout;
  /** Reads (the writer's connection when repairing, a read-only one otherwise). */
  db: Database;
  /**
   * Present only when repairing: the in-process driver's ports. Every repair
   * of an operation runs that operation's own flow steps through them; GC they
   * ask for is drained by the driver (the gc flow, not a copy of it).
   */
  flows: JobContext | null;
  /** Run the gc flow for every GC request the repairs made so far (a no-op in a dry run). */
  drainGc(): Promise<void>;
  now: number;
  orphanGraceMs: number;
  /** How long trashed orphans are kept (trash.ts). */
  trashRetentionMs: number;
}

export const item = (i: Omit<RecoveryItem, 'repaired'>, repaired: boolean): RecoveryItem => ({ ...i, repaired });

/** A stable op id for a repair, so re-running recovery after a crash in recovery replays rather than repeats. */
export const repairOp = (what: string, id: string, opId: string): string => `recover:${what}:${id}:${opId}`;

/** Report `i`; when repairing, carry it out. A repair that fails is reported, and the other passes still run. */
export async function act(ctx: RecoveryContext, i: Omit<RecoveryItem, 'repaired'>, repair: (flows: JobContext) => Promise<unknown> | void): Promise<RecoveryItem> {
  if (!ctx.flows) return item(i, false);
  try {
    await repair(ctx.flows);
  } catch (err) {
    return { ...item({ ...i, action: `${i.action} (failed: ${(err as Error).message})` }, false), failed: true };
  }
  return item(i, true);
}
