/**
 * The parts of a pipeline that need no Redis and no BullMQ: the home's folders, recovery, the DB
 * writer thread and the file pool. Start-up is every CLI command's fixed cost, so they start
 * together, and a caller may start them before it loads BullMQ (the largest module graph a
 * command loads), so the threads boot on another core while the main thread parses it: see
 * `startPipeline({ parts })` and the CLI's session. The pool's threads and the writer's load while
 * recovery runs; the writer opens the database after it (the pool touches no record; recovery
 * writes). If one fails, what the others started is closed again.
 */
import type { HomeLayout } from '../layout.js';
import { homeModes, makeHomeFolder } from '../runtime/home-mode.js';
import { startDbWriter, type DbWriterClient } from './db-writer-client.js';
import { startFilePool, type FileRunner } from './file-pool.js';
import { recover, type RecoveryReport } from './recovery/index.js';

export interface PipelineParts {
  recovery: RecoveryReport;
  writer: DbWriterClient;
  files: FileRunner;
}

/** `recoveryReports`: recovery's report-only passes (RecoverOptions.reports), default true. */
export async function startPipelineParts(o: { layout: HomeLayout; poolSize: number; recoveryReports?: boolean }): Promise<PipelineParts> {
  const modes = homeModes();
  for (const dir of [o.layout.basesDir, o.layout.boxesDir, o.layout.runDir]) makeHomeFolder(dir, dir === o.layout.runDir ? modes.run : modes.dir);
  // Recovery's database work is synchronous: it starts once the threads below have been spawned.
  const recovering = Promise.resolve().then(() => recover(o.layout.home, { repair: true, reports: o.recoveryReports }));
  const opened = (async () => {
    // The writer's thread boots during recovery and opens the database after it.
    const writer = await startDbWriter(o.layout.home, { openAfter: recovering });
    return { recovery: await recovering, writer };
  })();
  const [files, db] = await Promise.allSettled([startFilePool(o.poolSize), opened]);
  if (files.status === 'fulfilled' && db.status === 'fulfilled') return { ...db.value, files: files.value };
  await closeParts({ files: files.status === 'fulfilled' ? files.value : null, writer: db.status === 'fulfilled' ? db.value.writer : null });
  throw (files.status === 'rejected' ? files : (db as PromiseRejectedResult)).reason;
}

/** Close what was started (a start-up that failed after the parts were up). */
export async function closeParts(p: { files: FileRunner | null; writer: DbWriterClient | null }): Promise<void> {
  await p.files?.close();
  await p.writer?.close();
}
