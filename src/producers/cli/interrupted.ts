/**
 * What a command stopped by Ctrl-C (SIGINT) or SIGTERM says about the jobs it
 * waited for. The jobs are not cancelled by the signal: through `serve` they
 * go on there; a command that ran its own pipeline leaves them queued on its
 * Redis (the private one keeps its data in the home), to go on with the home's
 * next owner. Either way the user gets the commands that follow or cancel them.
 */
import type { HomeLayout } from '../../layout.js';
import type { Forkpoint } from '../client.js';

export interface InterruptedJob {
  id: string;
  queue: string;
  rejoinable: boolean;
}

/**
 * `where`: the serve that runs the jobs, or null when the command ran its own pipeline (now stopped).
 * `ended`: the jobs among them that ended meanwhile (id → completed or failed), as endedJobs read them.
 */
export function interruptedLines(layout: HomeLayout, jobs: readonly InterruptedJob[], where: { pid: number } | null, ended?: ReadonlyMap<string, string>): string[] {
  if (jobs.length === 0) return [where ? 'nothing was queued yet' : 'nothing was queued yet; nothing is left to follow'];
  const home = `--home ${shellWord(layout.home)}`;
  const over = jobs.filter((j) => ended?.has(j.id));
  const lines = over.map((j) => `job ${j.id} ${ended!.get(j.id)} before the pipeline stopped: \`forkpoint ${home} jobs wait ${j.id}\` prints its outcome`);
  jobs = jobs.filter((j) => !ended?.has(j.id));
  if (jobs.length === 0) return lines;
  const goesOn = where
    ? `goes on in forkpoint serve (pid ${where.pid})`
    : // Its pipeline stopped it between chunks (what it made is ready) and put it back in the queue.
      'stays queued and resumes with the next command or `forkpoint serve` on this home (`jobs wait` runs it to its end)';
  for (const job of jobs) {
    lines.push(`job ${job.id} (queue ${job.queue}) ${goesOn}; it was not cancelled`);
    lines.push(`  follow it: forkpoint ${home} jobs wait ${job.id}`);
    lines.push(`  cancel it: forkpoint ${home} jobs cancel ${job.id}`);
  }
  if (jobs.every((j) => j.rejoinable)) lines.push('running the same command again joins it, too');
  return lines;
}

/** A path as one shell word (quoted only when it needs to be). */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** Which of `jobs` have ended (id → `completed` / `failed`); a job that cannot be read is left out (said to go on). */
export async function endedJobs(client: Pick<Forkpoint, 'getJob'>, jobs: readonly InterruptedJob[]): Promise<Map<string, string>> {
  const ended = new Map<string, string>();
  for (const job of jobs) {
    const state = await client.getJob(job.queue.endsWith('-gc') ? 'gc' : 'ops', job.id).then((j) => j?.state, () => undefined);
    if (state === 'completed' || state === 'failed') ended.set(job.id, state);
  }
  return ended;
}
