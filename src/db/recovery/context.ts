/** What each recovery pass receives, and what it reports. */
import type { Database } from 'better-sqlite3';
import type { HomeLayout } from '../../layout.js';
import type { DbWriter } from '../writer.js';

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
  /** The operation whose record this is about, when the record names one (forks). */
  op?: string;
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
  collected: number;
  inFlight: number;
}

export function summarize(problems: RecoveryItem[], collected: string[]): RecoverySummary {
  return {
    found: problems.length,
    repaired: problems.filter((p) => p.repaired).length,
    needsAttention: problems.filter((p) => p.action === 'none' && !p.inFlight).length,
    collected: collected.length,
    inFlight: problems.filter((p) => p.inFlight).length,
  };
}

export interface RecoveryContext {
  layout: HomeLayout;
  /** Reads (the writer's connection when repairing, a read-only one otherwise). */
  db: Database;
  /** Present only when repairing: every change goes through it. */
  writer: DbWriter | null;
  now: number;
  orphanGraceMs: number;
  fsync: boolean;
  /** Bases collected by cascades that repairs started. */
  collected: string[];
}

export const item = (i: Omit<RecoveryItem, 'repaired'>, repaired: boolean): RecoveryItem => ({ ...i, repaired });

/** A stable op id for a repair, so re-running recovery after a crash in recovery replays rather than repeats. */
export const repairOp = (what: string, id: string, opId: string): string => `recover:${what}:${id}:${opId}`;
