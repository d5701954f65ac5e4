/** `forkpoint jobs`: the queues of this home and the JSON Schema of every job payload, for other services. */
import type { Command } from 'commander';
import { action, printResult } from '../output.js';
import { openHome, type GlobalFlags } from '../session.js';

export function registerJobsCommand(program: Command): void {
  program
    .command('jobs')
    .description('the BullMQ queues of this home and the payload schema of each job (to enqueue with plain BullMQ)')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        const { config, homeId } = openHome(flags);
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
