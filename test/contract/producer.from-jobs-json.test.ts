/**
 * An outside producer written only from `forkpoint jobs --json`: a real
 * `forkpoint serve` on its home's private redis-server (a socket nobody is
 * told about otherwise), and a plain BullMQ producer that takes the
 * connection, prefix, queue names, add options and schemas from that output
 * and nothing else. Its payloads are checked against the printed payload
 * schemas, the results it gets back against the printed result schemas; jobs
 * it adds without options get the service's attempts (a retryable failure
 * runs three times), and a repeat under the same op collapses into the first.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Queue, QueueEvents, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { runCli, startServe, useCleanup, useRedisServerCleanup } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-producer-');
// Before useCleanup: after-each hooks run last-registered first, and the Redis must go after serve.
const killRedisOn = useRedisServerCleanup();
const { defer, killAtEnd } = useCleanup();

interface Contract {
  prefix: string;
  redis: { url: string; from: string; socket: string | null; privateSocket: string; connection: Record<string, unknown> };
  queues: { ops: string; gc: string };
  jobOptions: Record<'ops' | 'gc', { attempts: number }>;
  failedReason: { format: string; retried: string[] };
  jobs: { name: string; queue: string; add: Record<string, unknown>; schema: object; resultSchema: object }[];
}

describe('an outside producer, from `forkpoint jobs --json` alone', () => {
  it('finds the private Redis, enqueues valid payloads and gets results that fit the printed schemas', { timeout: 90_000 }, async () => {
    const home = join(tmp(), 'home');
    killRedisOn(join(home, 'run', 'redis.sock')); // serve killed at the end leaves its private redis-server running
    killAtEnd(await startServe(home, null)); // no --redis: the service starts the home's private redis-server
    const printed = await runCli(['--home', home, 'jobs', '--json']);
    expect(printed.status, printed.stderr).toBe(0);
    const contract = JSON.parse(printed.stdout) as Contract;
    expect(contract.redis.from).toBe('service');
    expect(contract.redis.socket).toBe(contract.redis.privateSocket);

    // ---- the producer: only `contract`, bullmq and a JSON Schema validator from here on ----
    const ajv = new Ajv2020({ strict: false });
    const queues = new Map<string, { queue: Queue; events: QueueEvents }>();
    const on = async (name: string) => {
      if (!queues.has(name)) {
        const o = { connection: contract.redis.connection, prefix: contract.prefix };
        const q = { queue: new Queue(name, o), events: new QueueEvents(name, o) };
        queues.set(name, q);
        defer(async () => {
          await q.events.close();
          await q.queue.close();
        });
        await q.events.waitUntilReady();
      }
      return queues.get(name)!;
    };
    const spec = (name: string) => contract.jobs.find((j) => j.name === name)!;
    const add = async (name: string, payload: Record<string, unknown>): Promise<{ job: Job; events: QueueEvents; queue: Queue }> => {
      const s = spec(name);
      expect(ajv.validate(s.schema, payload), `${name} ${JSON.stringify(payload)}: ${ajv.errorsText()}`).toBe(true);
      // The printed add options, with the payload's values in place of <op> / <baseId>; nothing else.
      const opts = JSON.parse(JSON.stringify(s.add).replace(/<(\w+)>/g, (_m, k: string) => String(payload[k])));
      const { queue, events } = await on(s.queue);
      return { job: await queue.add(name, payload, opts), events, queue };
    };
    // waitUntilFinished alone can wait for ever: QueueEvents is "ready" before its first XREAD, and
    // an event published in between is never delivered (bullmq#2874). Each call checks the job's
    // state once its listeners are on, so calling it again with a ttl is the whole cure. The
    // deadline only turns a hang into a failure that says where the job stood.
    const finished = async (job: Job, events: QueueEvents, queue: Queue): Promise<unknown> => {
      const deadline = Date.now() + 45_000;
      for (;;) {
        try {
          return await job.waitUntilFinished(events, 2_000);
        } catch (err) {
          if (!/timed out before finishing/.test((err as Error).message)) throw err;
          if (Date.now() > deadline) {
            const now = await queue.getJob(job.id!);
            throw new Error(`job ${job.id} did not finish in 45 s: ${now ? `${await now.getState()}, runs ${now.attemptsStarted}, ${now.failedReason ?? ''}` : 'gone'}`);
          }
        }
      }
    };
    const result = async (name: string, payload: Record<string, unknown>) => {
      const { job, events, queue } = await add(name, payload);
      const value = await finished(job, events, queue);
      expect(ajv.validate(spec(name).resultSchema, value), `${name} result ${JSON.stringify(value)}: ${ajv.errorsText()}`).toBe(true);
      return value as Record<string, any>;
    };

    // What the schemas refuse, the service would too: the producer learns it before sending.
    expect(ajv.validate(spec('box-create').schema, { op: 'x', boxId: 'web', sizeBytes: 1000 })).toBe(false);
    expect(ajv.validate(spec('box-create').schema, { op: 'x', boxId: 'web', sizeBytes: 1 << 20, rootfs: 'r' })).toBe(false);
    expect(ajv.validate(spec('box-create').schema, { op: 'x', boxId: '../web', sizeBytes: 1 << 20 })).toBe(false);

    const created = await result('box-create', { op: 'create-web', boxId: 'web', sizeBytes: 8 << 20 });
    expect(created.boxId).toBe('web');
    // The same request again collapses into the first job: same id, nothing new runs.
    const again = await add('box-create', { op: 'create-web', boxId: 'web', sizeBytes: 8 << 20 });
    expect(again.job.id).toBe(`box-create-create-web`);
    expect(await finished(again.job, again.events, again.queue)).toEqual(created);

    const cloned = await result('clone', { op: 'clone-web', source: 'web', targets: ['web-1', 'web-2'] });
    expect(cloned.targets).toEqual(['web-1', 'web-2']);
    await result('snapshot-create', { op: 'snap-web', boxId: 'web', name: 'golden' });
    await result('remove-box', { op: 'rm-web-2', boxId: 'web-2' });
    const swept = await result('sweep', {});
    expect(swept.collected).toBe(swept.bases.filter((b: { collected: boolean }) => b.collected).length);

    // Added without attempts, a retryable failure is retried as the printed options say: a box
    // whose disk a qemu-io holds open refuses a restore that checks (E_IMAGE_IN_USE, retryable).
    expect(contract.failedReason.retried).toContain('E_IMAGE_IN_USE');
    const holder = spawn('qemu-io', ['-f', 'qcow2', join(home, 'boxes', 'web', 'disks', 'container.qcow2')], { stdio: ['pipe', 'pipe', 'pipe'] });
    defer(() => holder.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (d: Buffer) => d.toString().includes('qemu-io>') && resolve());
      holder.on('exit', () => reject(new Error('qemu-io exited early')));
    });
    const { job, events, queue } = await add('snapshot-restore', { op: 'restore-web', boxId: 'web', name: 'golden', checkInUse: true });
    await expect(finished(job, events, queue)).rejects.toThrow(/^E_IMAGE_IN_USE: /);
    const failed = (await (await on(spec('snapshot-restore').queue)).queue.getJob(job.id!))!;
    expect(failed.opts.attempts ?? 0, 'the producer gave no attempts').toBeLessThanOrEqual(1);
    expect(failed.attemptsStarted).toBe(contract.jobOptions.ops.attempts);
    expect(failed.failedReason).toMatch(new RegExp(`^E_IMAGE_IN_USE: `));
  });
});
