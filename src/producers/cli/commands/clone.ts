/** `forkpoint clone SOURCE (--count N [--prefix P] | TARGET…)`. */
import { Option, type Command } from 'commander';
import { ErrorCodes, ForkpointError, isForkpointError } from '../../../errors.js';
import type { CloneResult } from '../../../workers/flows/clone.js';
import { parseBoxId } from '../../../names.js';
import { MAX_CLONE_TARGETS, cloneTargets } from '../../../contract/clone-targets.js';
import { action, printResult } from '../output.js';
import { OP_HELP, parseOp, runRequest } from '../request.js';
import { withSession, type GlobalFlags } from '../session.js';

export function registerCloneCommand(program: Command): void {
  program
    .command('clone')
    .argument('<source>', 'box to clone')
    .argument('[targets...]', 'new box ids (or use --count)')
    .addOption(new Option('--count <n>', 'make N clones').argParser((v) => Number(v)))
    .option('--prefix <prefix>', 'with --count: name clones <prefix>1 … <prefix>N')
    .addOption(new Option('--op <op>', OP_HELP).argParser(parseOp))
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
        const result = await withSession(flags, (s) =>
          runRequest<CloneResult>(s, flags, {
            command: 'clone',
            // Rerunning the same command after a crash is the same request (pending-requests.ts).
            args: count !== undefined ? { source, count, prefix: o.prefix ?? null } : { source, targets },
            op: o.op,
            label: 'cloning',
            enqueue: (op) => s.client.clone(source, count !== undefined ? cloneTargets(source, count, o.prefix, op) : targets, op),
          }),
          'write', // its source must exist: a new home has none
        ).catch((err: unknown) => {
          throw isForkpointError(err, ErrorCodes.ALREADY_EXISTS) && err.details.existingCount !== undefined ? withRerunHint(err) : err;
        });
        const seconds = (performance.now() - started) / 1000;
        printResult({ ...result, seconds }, flags, (r) =>
          `cloned ${r.source} into ${r.targets.length} box${r.targets.length === 1 ? '' : 'es'} via base ${r.baseId} in ${seconds.toFixed(2)} s` +
          (r.targets.length <= 10 ? `: ${r.targets.join(' ')}` : ` (${r.targets[0]} … ${r.targets[r.targets.length - 1]})`),
        );
      }),
    );
}

/**
 * The targets exist, made by another request: this command's own rerun joins its request instead
 * (pending-requests.ts), so these came from another --count/--prefix/--op, or from this command
 * after it had finished. Nothing was changed; say what to do.
 */
function withRerunHint(err: ForkpointError): ForkpointError {
  return new ForkpointError(
    err.code,
    `${err.message}; nothing was changed. They were made by another request (another --count, --prefix or --op, or this command after it had finished): ` +
      'give another --prefix, remove them first (`forkpoint box rm`), or rerun the request that made them (the same command, or its --op) to finish it',
    err.details,
  );
}
