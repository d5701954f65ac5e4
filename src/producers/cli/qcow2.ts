/** `forkpoint qcow2 …`: low-level image inspection and writing (placeholder, being built). */
import type { Command } from 'commander';

export function registerQcow2Commands(program: Command): void {
  program.command('qcow2').description('inspect and write qcow2 images directly (no queue, no database)');
}
