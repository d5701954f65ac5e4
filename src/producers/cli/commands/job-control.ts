/**
 * `forkpoint jobs wait JOB` and `forkpoint jobs cancel JOB`: follow a job by
 * its id (the one a command stopped by Ctrl-C names) to its end, or stop it.
 * Both go through the home's owner: the service's Redis when `serve` runs;
 * otherwise this command runs the pipeline itself (and so the job) meanwhile.
 */
import { Option, type Command } from 'commander';
import { ErrorCodes, ForkpointError, isForkpointError, type ErrorCode, type ErrorDetails } from '../../../errors.js';
import type { CancelOutcome } from '../../client.js';
import { action, printResult } from '../output.js';
import { progressMode, withProgress } from '../progress.js';
import { withSession, type GlobalFlags } from '../session.js';

/** What `jobs cancel` reports (`--json` prints it). */
interface CancelReport {
  id: string;
  name: string;
  queue: string;
  /**
   * removed: it was not running (waiting, or waiting for a retry after an attempt was cut off) and is
   * gone: it does nothing more, and what an earlier attempt made stays; cancelled: it stopped, undoing
   * what it had not finished; requested: --no-wait.
   */
  outcome: 'removed' | 'cancelled' | 'requested';
  error?: { code: ErrorCode; message: string; details: ErrorDetails };
}

const parseJobId = (value: string): string => {
  // BullMQ job ids of ours: <job name>-<op>, gc-<base>, sweep-…; anything else is not a job of ours.
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(value)) throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `not a job id: ${JSON.stringify(value)}`, { field: 'job' });
  return value;
};

function alreadyEnded(c: Pick<CancelOutcome, 'id' | 'name' | 'state'>): ForkpointError {
  return new ForkpointError(ErrorCodes.CONFLICT, `job ${c.id} (${c.name}) had already ${c.state === 'completed' ? 'completed' : 'failed'}: nothing to cancel (\`forkpoint jobs wait ${c.id}\` shows its outcome)`, {
    id: c.id,
    state: c.state,
  });
}

export function registerJobControlCommands(jobs: Command): void {
  jobs
    .command('wait')
    .argument('<job>', 'job id (as a command stopped by Ctrl-C names it)')
    .description('follow a job to its end and print its result (its failure as the command would have)')
    .action(
      action(async (id: string, _o: unknown, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        parseJobId(id);
        const result = await withSession(flags, async (s) => {
          const handle = await s.client.follow(id);
          const { queueName, queueRoleOf } = await import('../../../contract/queues.js');
          s.noteJob({ id, queue: queueName(s.homeId, queueRoleOf(handle.name)), rejoinable: false });
          return withProgress(handle, handle.name, progressMode(flags));
        }, 'write');
        printResult({ id, result: result ?? null }, flags, (r) => `job ${r.id} completed${r.result !== null ? `: ${JSON.stringify(r.result)}` : ''}`);
      }),
    );

  jobs
    .command('cancel')
    .argument('<job>', 'job id (as a command stopped by Ctrl-C names it)')
    .addOption(new Option('--no-wait', 'only ask a running job to stop; do not wait until it has'))
    .description('cancel a job: one that waits is removed; a running clone stops between chunks of children (what it made stays, the rest is not made)')
    .addHelpText('after', '\nExit status 0 once the job is removed or has stopped (its waiting command then fails with E_CANCELLED, exit 4); 3 if it had already ended.')
    .action(
      action(async (id: string, o: { wait: boolean }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        parseJobId(id);
        const report = await withSession(flags, async (s): Promise<CancelReport> => {
          const c = await s.client.cancel(id);
          const base = { id: c.id, name: c.name, queue: c.queue };
          if (c.outcome === 'finished') throw alreadyEnded(c);
          if (c.outcome === 'removed') return { ...base, outcome: 'removed' };
          if (!o.wait) return { ...base, outcome: 'requested' };
          const handle = await s.client.follow(id);
          try {
            await handle.result();
          } catch (err) {
            if (isForkpointError(err, ErrorCodes.CANCELLED)) return { ...base, outcome: 'cancelled', error: err.toJSON() };
            throw err; // it failed on its own meanwhile: that is the answer
          } finally {
            await s.client.forgetCancel(c.queue, id).catch(() => undefined);
          }
          // It completed before it read the request (its last chunk had begun, say).
          throw alreadyEnded({ ...c, state: 'completed' });
        }, 'write');
        printResult(report, flags, (r) => {
          if (r.outcome === 'removed') return `job ${r.id} (${r.name}) was not running: removed, it does nothing more`;
          if (r.outcome === 'requested') return `job ${r.id} (${r.name}) is running: asked it to stop (\`forkpoint jobs wait ${r.id}\` follows it)`;
          return `job ${r.id} (${r.name}) stopped: ${r.error!.message.replace(/^operation \S+ was cancelled /, '')}`;
        });
      }),
    );
}
