/**
 * Pipeline benchmark (not a test: it prints, it asserts nothing).
 *
 *   npm run bench:pipeline        (FORKPOINT_BENCH_CLONES=… changes N, default 1000)
 *
 * From one run, on one fresh home and a private redis-server:
 *   1. N durable clones of one box through the whole pipeline (BullMQ job →
 *      fork in the Piscina pool → N COW children in chunks → batched writer
 *      commands with synchronous=FULL), clones per second;
 *   2. the peer: the same N children made by a loop of `qemu-img create`;
 *   3. the physical floor: N files each with one small write, fsync'd, and
 *      one folder fsync per 32 (what a durable child costs at the least);
 *   4. the user's view: `forkpoint clone SRC --count 3N` on a fresh home via
 *      the built CLI, start-up and embedded Redis included (wall clock).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, realpathSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { homeLayout } from '../src/layout.js';
import { Forkpoint } from '../src/producers/client.js';
import { startEmbeddedRedis } from '../src/runtime/embedded-redis.js';
import { startPipeline } from '../src/workers/pipeline.js';

const N = Number(process.env.FORKPOINT_BENCH_CLONES ?? 1000);
const root = realpathSync(mkdtempSync(join(process.env.FORKPOINT_BENCH_DIR ?? tmpdir(), 'fp-bench-pipe-')));
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const rows: { name: string; perSecond: number; note: string }[] = [];

async function throughPipeline(): Promise<void> {
  const layout = homeLayout(join(root, 'home'));
  mkdirSync(layout.home, { recursive: true });
  const redis = await startEmbeddedRedis(join(root, 'run'));
  const pipeline = await startPipeline({ layout, homeId: 'bench', redisUrl: redis.url, prefix: '{fp-bench}', poolSize: 2 });
  const client = await Forkpoint.connect({ redisUrl: redis.url, homeId: 'bench', prefix: '{fp-bench}' });
  try {
    await (await client.createBox('src', { sizeBytes: 10 * 2 ** 30 })).result();
    // Warm the pool and the writer so the figure is the steady state a batch sees.
    await (await client.clone('src', ['warm-1', 'warm-2'])).result();
    const targets = Array.from({ length: N }, (_, i) => `c${i}`);
    const t0 = process.hrtime.bigint();
    await (await client.clone('src', targets)).result();
    const s = seconds(t0);
    rows.push({ name: `pipeline: clone --count ${N} (durable)`, perSecond: N / s, note: `${(s * 1000).toFixed(0)} ms` });
  } finally {
    await client.close();
    await pipeline.close();
    await redis.stop();
  }
}

function qemuImgLoop(): void {
  const dir = join(root, 'qemu');
  mkdirSync(dir);
  const base = join(dir, 'base.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, '10G']);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, join(dir, `c${i}.qcow2`)]);
  const s = seconds(t0);
  rows.push({ name: `qemu-img create loop × ${N}`, perSecond: N / s, note: `${(s * 1000).toFixed(0)} ms` });
}

function physicalFloor(): void {
  const dir = join(root, 'floor');
  mkdirSync(dir);
  const header = Buffer.alloc(512, 1);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const fd = openSync(join(dir, `c${i}`), 'wx');
    writeSync(fd, header, 0, header.length, 0);
    fsyncSync(fd);
    closeSync(fd);
    if (i % 32 === 31) {
      const d = openSync(dir, 'r');
      fsyncSync(d);
      closeSync(d);
    }
  }
  const s = seconds(t0);
  rows.push({ name: `floor: ${N} × (create + 512 B write + fsync), one thread`, perSecond: N / s, note: `${(s * 1000).toFixed(0)} ms` });
}

function throughCli(): void {
  const count = 3 * N;
  const home = join(root, 'cli-home');
  const env = { ...process.env, FORKPOINT_HOME: home, REDIS_URL: '' };
  delete (env as Record<string, string | undefined>).REDIS_URL; // the user's default: local Redis or a private one
  const cli = (args: string[]) => spawnSync('node', ['bin/forkpoint.js', ...args], { env, encoding: 'utf8' });
  const made = cli(['box', 'create', 'src', '--size', '10G']);
  if (made.status !== 0) throw new Error(`box create failed: ${made.stderr}`);
  const t0 = process.hrtime.bigint();
  const r = cli(['clone', 'src', '--count', String(count), '--json']);
  const s = seconds(t0);
  if (r.status !== 0) throw new Error(`clone failed: ${r.stderr}`);
  rows.push({ name: `CLI: forkpoint clone src --count ${count} (fresh process + embedded Redis)`, perSecond: count / s, note: `${(s * 1000).toFixed(0)} ms wall` });
}

try {
  await throughPipeline();
  qemuImgLoop();
  physicalFloor();
  throughCli();
  const peer = rows.find((r) => r.name.startsWith('qemu-img'))!.perSecond;
  const floor = rows.find((r) => r.name.startsWith('floor'))!.perSecond;
  console.log(`\nforkpoint pipeline benchmark — ${new Date().toISOString()} — ${root}\n`);
  console.log('| what | clones/s | vs qemu-img loop | vs floor | time |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.perSecond.toFixed(0)} | ${(r.perSecond / peer).toFixed(1)}× | ${(r.perSecond / floor).toFixed(2)}× | ${r.note} |`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
