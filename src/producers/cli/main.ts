/**
 * `forkpoint` command line. Kept cheap to start: this file loads commander
 * only; each command group registers its commands here and imports its heavy
 * modules (bullmq, better-sqlite3, piscina) inside the action.
 */
import { Command } from 'commander';
import { registerQcow2Commands } from './qcow2.js';

export function buildProgram(): Command {
  const program = new Command('forkpoint')
    .description('qcow2 base disks (fork points) for micro-VM sandboxes: clones, snapshots, rootfs cache')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true });
  registerQcow2Commands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
