/** `forkpoint jobs`: the queues of this home and the JSON Schema of every job payload, for other services. */
import type { Command } from 'commander';
import { ErrorCodes } from '../../../errors.js';
import { action, ForkpointError, printResult } from '../output.js';
import { openHome, type GlobalFlags } from '../session.js';

export function registerJobsCommand(program: Command): void {
  program
    .command('jobs')
    .description('the BullMQ queues of this home and the payload schema of each job (to enqueue with plain BullMQ)')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        const { config, layout, homeId } = openHome(flags, 'read');
        if (homeId === null) {
          // Queues are named after the home id, which the first command that changes the home (or serve) mints.
          throw new ForkpointError(ErrorCodes.NOT_FOUND, `${layout.home} has no home id yet, so no queues: \`forkpoint serve\` gives it one`, {
            path: `${layout.home}/home-id`,
          });
        }
        const { jobJsonSchemas } = await import('../../../contract/jobs.js');
        const { queueName, queueRoleOf } = await import('../../../contract/queues.js');
        const schemas = jobJsonSchemas();
        const jobs = Object.entries(schemas).map(([name, schema]) => ({
          name,
          queue: queueName(homeId, queueRoleOf(name as keyof typeof schemas)),
          schema,
        }));
        printResult({ prefix: config.prefix, homeId, jobs }, flags, (r) =>
          [
            `prefix ${r.prefix}, home ${r.homeId}`,
            ...r.jobs.map((j) => `  ${j.queue.padEnd(40)} ${j.name}  ${JSON.stringify((j.schema as { properties?: object }).properties ? Object.keys((j.schema as { properties: object }).properties) : [])}`),
            'use --json for the full JSON Schemas',
          ].join('\n'),
        );
      }),
    );
}
