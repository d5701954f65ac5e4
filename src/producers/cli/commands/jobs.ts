/** `forkpoint jobs`: what another service needs to enqueue with plain BullMQ (contract/producer-contract.ts). */
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
        const { producerContract } = await import('../../../contract/producer-contract.js');
        const { isReadyService, readOwner } = await import('../../../runtime/home-lock.js');
        const { parseRedisUrl } = await import('../../../runtime/redis-url.js');
        const { embeddedSocketPath } = await import('../../../runtime/embedded-redis.js');
        // A running service knows the Redis it consumes from (perhaps the home's private one, on a
        // socket only it knows); without one, the Redis this configuration names, or the home's own.
        const owner = readOwner(layout.runDir);
        const service = isReadyService(owner) ? owner : null;
        const url = service?.redisUrl ?? config.redisUrl ?? `unix://${embeddedSocketPath(layout.runDir)}`;
        const connection = parseRedisUrl(url).options as Record<string, unknown>;
        const redis = {
          url,
          from: service ? ('service' as const) : ('config' as const),
          socket: typeof connection.path === 'string' ? connection.path : null,
          privateSocket: embeddedSocketPath(layout.runDir),
          connection,
        };
        const contract = producerContract({ homeId, prefix: service?.prefix ?? config.prefix, redis });
        printResult(contract, flags, (r) =>
          [
            `prefix ${r.prefix}, home ${r.homeId}, Redis ${r.redis.url} (${r.redis.from === 'service' ? 'the running service' : 'no service running: from the configuration'})`,
            ...r.jobs.map((j) => `  ${j.queue.padEnd(40)} ${j.name}  ${JSON.stringify((j.schema as { properties?: object }).properties ? Object.keys((j.schema as { properties: object }).properties) : [])}`),
            'use --json for the connection, the job options the service applies, and the payload and result JSON Schemas',
          ].join('\n'),
        );
      }),
    );
}
