/** `forkpoint clone SOURCE (--count N [--prefix P] | TARGET…)`. */
import { Option, type Command } from 'commander';
import { ErrorCodes, ForkpointError } from '../../../errors.js';
import { parseBoxId } from '../../../names.js';
import { MAX_CLONE_TARGETS, cloneTargets } from '../../../contract/clone-targets.js';
import { action, printResult } from '../output.js';
import { withProgressBar } from '../progress.js';
import { forgetRequest, requestOp } from '../pending-requests.js';
import { withSession, type GlobalFlags } from '../session.js';

export function registerCloneCommand(program: Command): void {
  program
    .command('clone')
    .argument('<source>', 'box to clone')
    .argument('[targets...]', 'new box ids (or use --count)')
    .addOption(new Option('--count <n>', 'make N clones').argParser((v) => Number(v)))
    .option('--prefix <prefix>', 'with --count: name clones <prefix>1 … <prefix>N')
    .option('--op <op>', 'the operation id (1-64 of [A-Za-z0-9_-]): the same op is the same request; default: the same command run again after it did not finish')
    .description('fork SOURCE once and give every target its own copy-on-write child of that base')
    .addHelpText('after', '\nExamples:\n  forkpoint clone web web-a web-b\n  forkpoint clone web --count 500 --prefix worker-')
    .action(
      action(async (source: string, targets: string[], o: { count?: number; prefix?: string; op?: string }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        parseBoxId(source);
        targets.forEach(parseBoxId);
        if (o.count !== undefined) {
          if (targets.length > 0) throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, 'give either --count N or target box ids, not both', { field: 'count' });
          if (!Number.isInteger(o.count) || o.count < 1 || o.count > MAX_CLONE_TARGETS) {
            throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `--count must be an integer from 1 to ${MAX_CLONE_TARGETS}`, { field: 'count' });
          }
        } else if (targets.length === 0) {
          throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, 'give target box ids or --count N', { field: 'targets' });
        }
        const started = performance.now();
        const count = o.count;
        const result = await withSession(flags, async (s) => {
          // Rerunning the same command after a crash is the same request (pending-requests.ts).
          const request = o.op === undefined ? requestOp(s.layout.runDir, 'clone', count !== undefined ? { source, count, prefix: o.prefix ?? null } : { source, targets }) : null;
          const op = o.op ?? request!.op;
          if (request?.resumed) process.stderr.write(`forkpoint: resuming the unfinished request of an earlier run of this command (op ${op})\n`);
          if (count !== undefined) targets = cloneTargets(source, count, o.prefix, op);
          const job = await s.client.clone(source, targets, op);
          const { queueName } = await import('../../../contract/queues.js'); // lazily: it loads the payload schemas (zod)
          s.noteJob({ id: job.id, queue: queueName(s.homeId, 'ops'), rejoinable: true });
          const done = await withProgressBar(job, 'cloning', !flags.json);
          if (request) forgetRequest(s.layout.runDir, request.key);
          return done;
        });
        const seconds = (performance.now() - started) / 1000;
        printResult({ ...result, seconds }, flags, (r) =>
          `cloned ${r.source} into ${r.targets.length} box${r.targets.length === 1 ? '' : 'es'} via base ${r.baseId} in ${seconds.toFixed(2)} s` +
          (r.targets.length <= 10 ? `: ${r.targets.join(' ')}` : ` (${r.targets[0]} … ${r.targets[r.targets.length - 1]})`),
        );
      }),
    );
}
