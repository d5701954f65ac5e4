/**
 * box-create that fails after its disk was written (the last writer command,
 * commitBox, could not commit) is retried by BullMQ under the same op, and the
 * retry finishes the box: a folder made by an earlier attempt of the same op,
 * whose record is still `creating`, is that op's own, so the retry deletes it
 * and writes the disk again. It must not take it for someone else's folder:
 * that would abort the box, leave the disk in boxes/<id>/ with no record, and
 * make the same request fail for ever.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ForkpointError } from '../../src/errors.js';
import { boxDiskPath } from '../../src/layout.js';
import { boxCreateJob } from '../../src/workers/flows/box.js';
import { useInProcessJobs } from '../helpers/in-process-jobs.js';
import { auditHome, goldenImage } from '../helpers/pipeline.js';

const jobs = useInProcessJobs('fp-jobs-mk-');

describe('jobs: box-create retried after its disk was written', () => {
  it.each([
    ['--from IMAGE', (image: string) => ({ fromImage: image })],
    ['--size', () => ({ sizeBytes: 16 * 1024 * 1024 })],
  ])('%s: the retry finishes the box', async (_label, source) => {
    const env = jobs();
    const golden = goldenImage(join(env.dir, 'golden.qcow2'), 0x44);
    const payload = { op: 'mk-b', boxId: 'b', ...source(golden) };

    // Attempt 1: the disk is written, then commitBox is refused (e.g. SQLITE_FULL once the copy filled the disk).
    env.failOnce('writer:commitBox');
    const first = await boxCreateJob(env.ctx, payload).then(() => null, (e: ForkpointError) => e);
    expect(first?.code).toBe('E_IO');
    expect(first?.retryable).toBe(true); // so BullMQ retries it with the same payload

    await expect(boxCreateJob(env.ctx, payload)).resolves.toMatchObject({ boxId: 'b' });
    const row = env.reader.prepare(`SELECT state FROM box WHERE id = 'b'`).pluck().get();
    expect({ row, disk: existsSync(boxDiskPath(env.layout, 'b')) }).toEqual({ row: 'ready', disk: true });
    // A box made from an image reads the image's bytes (the redone copy is whole).
    const goldenOf = 'fromImage' in payload ? new Map([['b', golden]]) : undefined;
    expect(await auditHome(env.layout, { goldenOf })).toEqual([]);
  });
});
