/**
 * The parts of a pipeline that need no Redis and no BullMQ: the home's folders, recovery, the DB
 * writer thread and the file pool. Start-up is every CLI command's fixed cost, so they start
 * together, and a caller may start them before it loads BullMQ (the largest module graph a
 * command loads), so the threads boot on another core while the main thread parses it: see
 * `startPipeline({ parts })` and the CLI's session. The pool's threads load while recovery runs
 * and then the writer starts (the pool touches no record; the writer must come after recovery,
 * which writes). If one fails, what the others started is closed again.
 */
import { mkdirSync } from 'node:fs';
import type { HomeLayout } from '../layout.js';
import { homeModes } from '../runtime/home-mode.js';
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
  for (const dir of [o.layout.basesDir, o.layout.boxesDir, o.layout.runDir]) mkdirSync(dir, { recursive: true, mode: dir === o.layout.runDir ? modes.run : modes.dir });
  const opened = (async () => {
    const recovery = await recover(o.layout.home, { repair: true, reports: o.recoveryReports });
    return { recovery, writer: await startDbWriter(o.layout.home) };
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
