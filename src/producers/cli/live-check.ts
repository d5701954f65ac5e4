/**
 * `forkpoint check` while `forkpoint serve` owns the home: the files show the
 * half-done state of the jobs running right now, and only the service knows
 * which those are. So a report asks the service (`GET /api/check`, which marks
 * them in flight); if it cannot, it falls back to reading the files itself and
 * says that running jobs may show up as problems.
 */
import type { RecoveryReport } from '../../workers/recovery/index.js';
import type { HomeLayout } from '../../layout.js';

export type LiveCheck = { report: RecoveryReport; checkedBy: string } | { report: null; why: string | null };

/** How long to wait for the service's answer before reading the files instead. */
const ASK_TIMEOUT_MS = 30_000;
/** A repair first waits for the jobs running now to finish. */
const REPAIR_TIMEOUT_MS = 10 * 60_000;

/** `repair`: ask the service to repair (POST /api/check/repair) rather than report. */
export async function askServiceForCheck(layout: HomeLayout, repair = false): Promise<LiveCheck> {
  const { ownerNow, readOwner, tryLockHome } = await import('../../runtime/home-lock.js');
  const owner = readOwner(layout.runDir);
  if (owner?.kind !== 'serve' || !owner.httpUrl) return { report: null, why: null };
  // owner.json outlives a killed service: only a held lock means someone is there to ask.
  const probe = tryLockHome(layout.runDir, ownerNow('cli', owner.homeId));
  if (probe) {
    probe.release();
    return { report: null, why: null };
  }
  const url = `${owner.httpUrl}/api/check${repair ? '/repair' : ''}`;
  const token = process.env.FORKPOINT_TOKEN;
  try {
    const res = await fetch(url, { method: repair ? 'POST' : 'GET', headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(repair ? REPAIR_TIMEOUT_MS : ASK_TIMEOUT_MS) });
    if (!res.ok) return { report: null, why: `forkpoint serve at ${owner.httpUrl} answered ${res.status}${res.status === 401 ? ' (set FORKPOINT_TOKEN)' : ''}` };
    return { report: (await res.json()) as RecoveryReport, checkedBy: owner.httpUrl };
  } catch (err) {
    return { report: null, why: `forkpoint serve at ${owner.httpUrl} did not answer (${(err as Error).message})` };
  }
}
