/**
 * Another process (plain BullMQ, no forkpoint code) enqueues jobs by the
 * documented queue names and payloads (src/contract/jobs.ts, queues.ts).
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { boxDiskPath } from '../../src/layout.js';
import { qemuCheck, qemuCompare } from '../helpers/qemu.js';
import { goldenImage, REPO_ROOT, TEST_PREFIX, useTestPipelines } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-raw-');
const startPipeline = useTestPipelines();

/** The producer: adds the jobs it is given (with retries allowed), waits for each, prints what BullMQ says about them. */
const PRODUCER = `
import { Queue, QueueEvents } from 'bullmq';
// node -e: argv[1] is the first argument.
const [url, prefix, queueName, jobsJson] = process.argv.slice(1);
const u = new URL(url);
const connection = u.protocol.endsWith('unix:') ? { path: decodeURIComponent(u.pathname) } : { host: u.hostname, port: Number(u.port) };
const queue = new Queue(queueName, { connection, prefix });
const events = new QueueEvents(queueName, { connection, prefix });
await events.waitUntilReady();
const out = [];
for (const { name, data } of JSON.parse(jobsJson)) {
  const job = await queue.add(name, data, { attempts: 3, backoff: { type: 'fixed', delay: 200 } });
  let result = null;
  try { result = await job.waitUntilFinished(events, 60000); } catch {}
  const done = await queue.getJob(job.id);
  out.push({ name, state: await done.getState(), result, failedReason: done.failedReason ?? null, attemptsMade: done.attemptsMade });
}
process.stdout.write(JSON.stringify(out));
await events.close();
await queue.close();
`;

function runProducer(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    // Run from the repo so `import 'bullmq'` resolves to its node_modules, as another service's would to its own.
    const child = spawn(process.execPath, ['--input-type=module', '-e', PRODUCER, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

interface Outcome {
  name: string;
  state: string;
  result: unknown;
  failedReason: string | null;
  attemptsMade: number;
}

describe('pipeline: jobs from a plain BullMQ producer in another process', () => {
  it('does jobs enqueued by the documented payloads; a bad payload fails at once with a reason led by its code', async () => {
    const dir = tmp();
    const t = await startPipeline(dir);
    const golden = goldenImage(join(dir, 'golden.qcow2'), 0x77);
    const jobs = [
      { name: 'box-create', data: { op: 'raw-create-1', boxId: 'src', fromImage: golden } },
      { name: 'clone', data: { op: 'raw-clone-1', source: 'src', targets: ['r1', 'r2', 'r3'] } },
      { name: 'snapshot-create', data: { op: 'raw-snap-1', boxId: 'src', name: 'pinned' } },
      { name: 'snapshot-clone', data: { op: 'raw-sclone-1', name: 'pinned', boxId: 'src', target: 'r4' } },
      { name: 'remove-box', data: { op: 'raw-rm-1', boxId: 'r3' } },
      // Bad payloads: each must fail on its first attempt, naming the field.
      { name: 'clone', data: { op: 'raw-bad-1', source: 'src', targets: ['../etc'] } },
      { name: 'clone', data: { op: 'raw-bad-2', source: 'src' } },
      { name: 'box-create', data: { op: 'raw-bad-3', boxId: 'x', sizeBytes: -1 } },
      { name: 'no-such-job', data: {} },
    ];
    const queue = `forkpoint-${t.homeId}-ops`;
    const r = await runProducer([t.redisUrl, TEST_PREFIX, queue, JSON.stringify(jobs)]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Outcome[];

    for (const o of out.slice(0, 5)) expect(o, JSON.stringify(o)).toMatchObject({ state: 'completed', failedReason: null });
    expect(out[1]!.result).toMatchObject({ source: 'src', targets: ['r1', 'r2', 'r3'] });

    const bad = out.slice(5);
    // A path trick in a name is E_INVALID_NAME; other schema failures E_BAD_PAYLOAD.
    const codes = ['E_INVALID_NAME', 'E_BAD_PAYLOAD', 'E_BAD_PAYLOAD', 'E_BAD_PAYLOAD'];
    bad.forEach((o, i) => {
      expect(o.state, JSON.stringify(o)).toBe('failed');
      expect(o.attemptsMade, `no retries for bad input: ${JSON.stringify(o)}`).toBe(1);
      expect(o.failedReason?.startsWith(`${codes[i]}: `), o.failedReason ?? '').toBe(true);
    });
    expect(bad[0]!.failedReason).toContain('targets.0');
    expect(bad[1]!.failedReason).toContain('targets');
    expect(bad[2]!.failedReason).toContain('sizeBytes');
    expect(bad[3]!.failedReason).toContain('no-such-job');

    // The good jobs' work is real; the bad ones changed nothing.
    for (const id of ['src', 'r1', 'r2', 'r4']) {
      const disk = boxDiskPath(t.layout, id);
      expect(qemuCheck(disk).status, id).toBe(0);
      expect(qemuCompare(golden, disk).status, id).toBe(0);
    }
    const reader = openReader(t.layout.home);
    try {
      expect(reader.listBoxes().map((b) => b.id).sort()).toEqual(['r1', 'r2', 'r4', 'src']);
    } finally {
      reader.close();
    }
    expect(readdirSync(t.layout.boxesDir).sort()).toEqual(['r1', 'r2', 'r4', 'src']);
  });
});
