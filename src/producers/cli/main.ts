/**
 * `forkpoint` command line. Kept cheap to start: this file loads commander
 * only; each command imports its heavy modules (bullmq, better-sqlite3,
 * piscina) inside its action.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { registerBoxCommands } from './commands/box.js';
import { registerCloneCommand } from './commands/clone.js';
import { registerInspectCommands } from './commands/inspect.js';
import { registerJobsCommand } from './commands/jobs.js';
import { registerJobControlCommands } from './commands/job-control.js';
import { registerRootfsCommands } from './commands/rootfs.js';
import { registerServeCommand } from './commands/serve.js';
import { registerSnapshotCommands } from './commands/snapshot.js';
import { registerOciCommands } from './commands/oci.js';
import { registerQcow2Commands } from './qcow2.js';

/** `--timeout`: a positive number of seconds (fractions allowed). */
function parseTimeout(value: string): number {
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds <= 0 || seconds > 7 * 24 * 3600) {
    throw new InvalidArgumentError('expected a number of seconds greater than 0 (at most a week)');
  }
  return seconds;
}

export function buildProgram(): Command {
  const program = new Command('forkpoint')
    .description('qcow2 base disks (fork points) for micro-VM sandboxes: clones, snapshots, rootfs cache')
    .version('0.1.0')
    // The defaults are said in the text: commander prints a default's description only beside a default value.
    .addOption(new Option('--home <dir>', 'home folder (bases, boxes, database); default ~/.forkpoint').env('FORKPOINT_HOME'))
    .addOption(new Option('--redis <url>', "Redis URL (redis://…, unix:///path, redis-cluster://host:port,…); default: the home's private redis-server").env('REDIS_URL'))
    .option('--json', 'print results as JSON (for scripts)')
    .option('-q, --quiet', 'no progress or notices on stderr (warnings and errors are still printed)')
    .addOption(
      new Option('--progress <mode>', 'progress of a job being waited for, on stderr: auto (a bar on a terminal, none with --json), bar, json (one JSON line per update), none').choices(['auto', 'bar', 'json', 'none']),
    )
    .addOption(
      new Option('--timeout <seconds>', 'give up waiting for a busy home or a job after this long (exit 3; the job is not cancelled when serve runs it)').argParser(parseTimeout),
    )
    .showHelpAfterError('(run with --help for usage)')
    // Usage errors are bad input (exit 2) like every other; inherited by the commands added below.
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 failure, 2 bad input, 3 busy (home locked, Redis down, conflict, --timeout),
4 cancelled (\`forkpoint jobs cancel\`), 130 interrupted (Ctrl-C: the job goes on; the command says how to follow or cancel it).

Examples:
  forkpoint box create web --size 10G
  forkpoint clone web --count 100 --prefix web-
  forkpoint snapshot create web before-upgrade
  forkpoint tree
  forkpoint box rm web-1 web-2 && forkpoint gc --dry-run
  forkpoint serve                      # own the home; other commands then enqueue to it`,
    );
  registerBoxCommands(program);
  registerCloneCommand(program);
  registerSnapshotCommands(program);
  registerOciCommands(program);
  registerRootfsCommands(program);
  registerInspectCommands(program);
  registerServeCommand(program);
  registerJobsCommand(program);
  registerJobControlCommands(program.commands.find((c) => c.name() === 'jobs')!);
  registerQcow2Commands(program);
  return program;
}

export { flushStdio } from './output.js';

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // commander has printed its message already; help and --version are not errors.
    const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version';
    process.exitCode = ok ? 0 : 2;
    // A script that asked for JSON gets its error as JSON too (the options did not parse, so argv says whether it asked).
    const asked = argv.slice(2, argv.includes('--') ? argv.indexOf('--') : undefined).includes('--json');
    if (!ok && asked) {
      const usage = new ForkpointError(ErrorCodes.INVALID_ARGUMENT, err.message.replace(/^error: /, ''), { usage: err.code.replace(/^commander\./, '') });
      process.stdout.write(`${JSON.stringify({ error: usage.toJSON() }, null, 2)}\n`);
    }
  }
}
