/** `forkpoint serve`: run the pipeline for a home until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { action } from '../output.js';
import { openHome, type GlobalFlags } from '../session.js';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('own the home: take jobs from its queues until SIGINT/SIGTERM (CLI commands then enqueue to it)')
    .option('--grace <seconds>', 'on shutdown, how long active jobs may run before they are handed back', '30')
    .action(
      action(async (o: { grace: string }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        const { config, layout, homeId } = openHome(flags);
        const log = (line: string) => process.stderr.write(`forkpoint: ${line}\n`);
        const { startService } = await import('../../service.js');
        const service = await startService({ config, layout, homeId, log, shutdownGraceMs: Number(o.grace) * 1000 });
        const r = service.pipeline.recovery;
        log(`serving home ${layout.home} (id ${homeId}) on ${service.redisUrl}; recovery: ${JSON.stringify(r.summary ?? r)}`);
        await new Promise<void>((resolve) => {
          const onSignal = (signal: string) => {
            log(`${signal}: finishing active jobs, then stopping`);
            resolve();
          };
          process.once('SIGINT', onSignal);
          process.once('SIGTERM', onSignal);
        });
        await service.stop();
        log('stopped');
      }),
    );
}
