/**
 * Pipeline benchmark (not a test: it prints, it asserts nothing).
 *
 *   npm run bench:pipeline     (FORKPOINT_BENCH_BOXES=… changes N, default 2000;
 *                               FORKPOINT_BENCH_RUNS=… repeats the whole run, default 1;
 *                               FORKPOINT_BENCH_DIR=… where the homes go, default the temp folder;
 *                               FORKPOINT_BENCH_SETTLE_S=… the wait after removals, default 61, below)
 *
 * Built CLI (npm run build first). From one run, on fresh homes on one filesystem:
 *   - `forkpoint clone src --count N`, then `forkpoint box rm` of those N boxes, through a running
 *     `forkpoint serve` (the command's wall clock: its start-up, the job, the wait);
 *   - the same two as jobs from a producer already connected to that serve (add to result);
 *   - the same two commands as fresh CLI processes with no serve (each starts its own pipeline and
 *     a private redis-server: start-up, recovery and shutdown included);
 *   - their floors, measured in the same run on the same filesystem right before and right after
 *     each figure (the disk swings from minute to minute; a figure is judged against the mean): N × (mkdir + a 192 KiB sparse file with 3 small writes),
 *     then one `sync -f` (one flush); the same with an fsync per file and folder (a flush per
 *     child); N × (unlink + rmdir), then one `sync -f`, or an fsync of the parent folder after each;
 *     and the layout floor, the one-flush floor with the second folder a box's disk sits in
 *     (`boxes/<id>/disks/<disk>`: 3 inodes a box where the others make 2; for creates, the
 *     faster of one thread and two, as the file pool has);
 *   - a bare `node -e ''`, start to exit: the least any command costs before its job.
 * Every figure is printed next to each floor as a ratio (rate ÷ floor rate: 1.0× is the floor),
 * then the best a job (the layout floor) and a command (node's start, then the layout floor) could
 * reach, as ratios to the one-flush floor.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, readFileSync, mkdirSync, mkdtempSync, openSync, realpathSync, rmdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { Worker } from 'node:worker_threads';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Forkpoint } from '../src/producers/client.js';
import { fsyncFolder } from '../src/qcow2/durable.js';

const N = Number(process.env.FORKPOINT_BENCH_BOXES ?? 2000);
const RUNS = Number(process.env.FORKPOINT_BENCH_RUNS ?? 1);
const BIN = resolve(fileURLToPath(import.meta.url), '../../bin/forkpoint.js');
const root = realpathSync(mkdtempSync(join(process.env.FORKPOINT_BENCH_DIR ?? tmpdir(), 'fp-bench-pipe-')));
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
// The user's default: no Redis named (a local one, else each home's private redis-server).
const env = { ...process.env };
for (const name of ['REDIS_URL', 'FORKPOINT_HOME', 'FORKPOINT_PREFIX']) delete env[name];


/**
 * What a child costs at the least: a folder, a 192 KiB sparse file, 3 small writes (header, L1,
 * refcount), as the child writer lays them out. `layout`: with the second folder a box's disk
 * sits in (`boxes/<id>/disks/<disk>`, DESIGN.md): the floor of our layout, 3 inodes a box.
 */
function makeChildren(dir: string, flushEach: boolean, layout = false): number {
  mkdirSync(dir);
  const header = Buffer.alloc(512, 1);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    let folder = join(dir, `c${i}`);
    mkdirSync(folder);
    if (layout) mkdirSync((folder = join(folder, 'disks')));
    const fd = openSync(join(folder, 'disk'), 'wx');
    writeSync(fd, header, 0, header.length, 0);
    writeSync(fd, header, 0, header.length, 65536);
    writeSync(fd, header, 0, header.length, 3 * 65536 - header.length); // 192 KiB long
    if (flushEach) fsyncSync(fd);
    closeSync(fd);
    if (flushEach) fsyncFolder(folder);
  }
  if (flushEach) fsyncFolder(dir);
  else spawnSync('sync', ['-f', dir]);
  return N / seconds(t0);
}

/**
 * The layout floor on two threads, each making half the boxes in the same folder (as the file
 * pool's two threads do), timed from both starting to the one `sync -f` after both: where the
 * kernel lets two creators overlap, the floor of our layout is this one.
 */
async function makeLayoutOnTwoThreads(dir: string): Promise<number> {
  mkdirSync(dir);
  const code = `const { workerData: w, parentPort } = require('node:worker_threads');
const fs = require('node:fs'); const path = require('node:path'); const header = Buffer.alloc(512, 1);
parentPort.once('message', () => {
  for (let i = w.from; i < w.to; i++) {
    const folder = path.join(w.dir, 'c' + i, 'disks');
    fs.mkdirSync(path.dirname(folder)); fs.mkdirSync(folder);
    const fd = fs.openSync(path.join(folder, 'disk'), 'wx');
    for (const at of [0, 65536, 3 * 65536 - 512]) fs.writeSync(fd, header, 0, header.length, at);
    fs.closeSync(fd);
  }
  parentPort.postMessage('done');
});
parentPort.postMessage('ready');`;
  const half = Math.ceil(N / 2);
  const workers = [0, 1].map((k) => new Worker(code, { eval: true, workerData: { dir, from: k * half, to: Math.min(N, (k + 1) * half) } }));
  const next = () => Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
  try {
    await next(); // both threads up: their start is not the disk's
    const t0 = process.hrtime.bigint();
    const done = next();
    for (const w of workers) w.postMessage('go');
    await done;
    spawnSync('sync', ['-f', dir]);
    return N / seconds(t0);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function removeChildren(dir: string, flushEach: boolean, layout = false): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    unlinkSync(join(dir, `c${i}`, ...(layout ? ['disks'] : []), 'disk'));
    if (layout) rmdirSync(join(dir, `c${i}`, 'disks'));
    rmdirSync(join(dir, `c${i}`));
    if (flushEach) fsyncFolder(dir);
  }
  if (!flushEach) spawnSync('sync', ['-f', dir]);
  return N / seconds(t0);
}

function cli(home: string, args: string[]): { seconds: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, '--home', home, '-q', ...args], { env, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const s = seconds(t0);
  if (r.status !== 0) throw new Error(`forkpoint ${args.slice(0, 3).join(' ')} … failed (${r.status}): ${r.stderr}`);
  return { seconds: s, stdout: r.stdout };
}

/**
 * The floors, boxes/s: one flush, an fsync per file and folder, and one flush with our layout's
 * second folder per box (for creates, the faster of one thread and two).
 */
interface Floors {
  oneFlush: number;
  fsyncEach: number;
  layout: number;
}

interface Measured extends Floors {
  /** boxes/s */
  rate: number;
  /** The floors measured right before and right after it; oneFlush and fsyncEach are their means. */
  before: Floors;
  after: Floors;
}

/**
 * Seconds to wait after the bench's last removal before it measures anything that creates files.
 * ext4 without a journal (these VMs' root) will not reuse an inode freed in the last 60 s (300 s
 * while its inode-table block is dirty: fs/ext4/ialloc.c, recently_deleted()), and skips each one
 * again on every allocation: right after 6,000 removals, creating the same again ran 5-20x slower
 * for a minute. Waiting measures the settled filesystem; FORKPOINT_BENCH_SETTLE_S=0 measures a
 * host that clones right after it removed (floors and figures both pay, ours for 3 inodes a box,
 * the floor's for 2).
 */
const SETTLE_S = Number(process.env.FORKPOINT_BENCH_SETTLE_S ?? 61);
let lastRemoval = performance.now(); // what ran before the bench is unknown

/** After a removal: its inode-table blocks written back now, so the 60 s rule applies, not 300 s. */
function removed(dir: string): void {
  spawnSync('sync', ['-f', dir]);
  lastRemoval = performance.now();
}

async function settle(): Promise<void> {
  const wait = lastRemoval + SETTLE_S * 1000 - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

let floorRound = 0;
/**
 * Both floors of one kind. Folders the make floor created stay until the run ends: removing 4,000
 * entries right before a figure made that figure's creates pay for it (ext4 creates in a folder
 * tree just emptied ran 5–20× slower here, for a minute or more, 2026-12-01), which the floor
 * measured before the removal did not.
 */
async function floorsFor(kind: 'make' | 'rm', dir: string): Promise<Floors> {
  const round = ++floorRound;
  const [a, b, c] = ['a', 'b', 'c'].map((x) => join(dir, `f${round}${x}`)) as [string, string, string];
  if (kind === 'make') {
    const [oneFlush, fsyncEach, layout] = [makeChildren(a, false), makeChildren(b, true), makeChildren(c, false, true)];
    return { oneFlush, fsyncEach, layout: Math.max(layout, await makeLayoutOnTwoThreads(join(dir, `f${round}d`))) };
  }
  makeChildren(a, false);
  makeChildren(b, true);
  makeChildren(c, false, true);
  return { oneFlush: removeChildren(a, false), fsyncEach: removeChildren(b, true), layout: removeChildren(c, false, true) };
}

/**
 * A figure between its floors, measured right before and right after it: the filesystem drifts
 * within a run (see floorsFor), and a figure judged against one side only would be judged
 * against the weather. Ratios are to the mean of the two.
 */
async function bracketed(kind: 'make' | 'rm', floorDir: string, figure: () => Promise<number> | number): Promise<Measured> {
  if (kind === 'make') {
    await settle();
    // Not measured: the first creates after an idle spell ran ~2x slower than the same right
    // after, so a floor measured cold would flatter the figure that follows it warm.
    makeChildren(join(floorDir, `warm${++floorRound}`), false);
  }
  const before = await floorsFor(kind, floorDir);
  const rate = await figure();
  const after = await floorsFor(kind, floorDir);
  if (kind === 'rm') removed(floorDir);
  const mean = (k: keyof Floors) => (before[k] + after[k]) / 2;
  return { rate, before, after, oneFlush: mean('oneFlush'), fsyncEach: mean('fsyncEach'), layout: mean('layout') };
}

interface Pair {
  clone: Measured;
  rm: Measured;
}

/** clone --count N then box rm of them as CLI commands on a fresh home, each between its floors. */
async function cloneThenRemove(home: string, floorDir: string): Promise<Pair> {
  let targets: string[] = [];
  const clone = await bracketed('make', floorDir, () => {
    const r = cli(home, ['--json', 'clone', 'src', '--count', String(N), '--prefix', 'b-']);
    targets = (JSON.parse(r.stdout) as { targets: string[] }).targets;
    if (targets.length !== N) throw new Error(`clone made ${targets.length} boxes, not ${N}`);
    return N / r.seconds;
  });
  const rm = await bracketed('rm', floorDir, () => N / cli(home, ['box', 'rm', ...targets]).seconds);
  return { clone, rm };
}

/**
 * The same two as jobs from a producer already connected to serve's Redis (as another service
 * queues them): from add to result, without a command's start-up (measured by the rows above).
 */
async function jobsThenRemove(home: string, floorDir: string): Promise<Pair> {
  const owner = JSON.parse(readFileSync(join(home, 'run', 'owner.json'), 'utf8')) as { redisUrl: string; homeId: string; prefix: string };
  const client = await Forkpoint.connect({ redisUrl: owner.redisUrl, homeId: owner.homeId, prefix: owner.prefix });
  try {
    let targets: string[] = [];
    const clone = await bracketed('make', floorDir, async () => {
      const t0 = process.hrtime.bigint();
      targets = (await (await client.clone('src', { count: N, prefix: 'j-' })).result()).targets;
      if (targets.length !== N) throw new Error(`clone job made ${targets.length} boxes, not ${N}`);
      return N / seconds(t0);
    });
    const rm = await bracketed('rm', floorDir, async () => {
      const t0 = process.hrtime.bigint();
      const { outcomes } = await (await client.removeBoxes(targets)).result();
      if (outcomes.filter((o) => o.outcome === 'removed').length !== N) throw new Error(`remove job: ${JSON.stringify(outcomes.find((o) => o.outcome !== 'removed'))}`);
      return N / seconds(t0);
    });
    return { clone, rm };
  } finally {
    await client.close();
  }
}

async function throughServe(dir: string, floorDir: string): Promise<{ commands: Pair; jobs: Pair }> {
  const home = join(dir, 'serve-home');
  cli(home, ['box', 'create', 'src', '--size', '10G']);
  // As `npm start` and the Docker image run it: libuv's pool at 16 threads (fsyncs in flight at once).
  const serveEnv = { ...env, UV_THREADPOOL_SIZE: env.UV_THREADPOOL_SIZE ?? '16' };
  const serve = spawn(process.execPath, [BIN, '--home', home, 'serve', '--port', '0'], { env: serveEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  serve.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => serve.once('exit', () => r()));
  try {
    // Serving once its owner file names its Redis (the pipeline is up).
    for (let i = 0; ; i++) {
      const owner = existsSync(join(home, 'run', 'owner.json')) ? readFileSync(join(home, 'run', 'owner.json'), 'utf8') : '';
      if (/"kind":\s*"serve"/.test(owner) && !/"redisUrl":\s*""/.test(owner)) break;
      if (i > 600 || serve.exitCode !== null) throw new Error(`serve did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    cli(home, ['clone', 'src', 'warm-1']); // the service's pool and writer warm, as a running service's are
    const commands = await cloneThenRemove(home, floorDir);
    return { commands, jobs: await jobsThenRemove(home, floorDir) };
  } finally {
    serve.kill('SIGTERM');
    await exited;
  }
}

async function throughFreshCli(dir: string, floorDir: string): Promise<Pair> {
  const home = join(dir, 'cli-home');
  cli(home, ['box', 'create', 'src', '--size', '10G']);
  return cloneThenRemove(home, floorDir);
}

interface Run {
  serve: Pair;
  jobs: Pair;
  cli: Pair;
  /** Seconds a bare `node -e ''` takes, start to exit (median of 5): the least any command costs. */
  nodeStart: number;
}

function nodeStart(): number {
  const times = Array.from({ length: 5 }, () => {
    const t0 = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', ''], { env });
    return seconds(t0);
  });
  return median(times);
}

async function oneRun(i: number): Promise<Run> {
  const dir = join(root, `run-${i}`);
  const floorDir = join(dir, 'floor');
  mkdirSync(floorDir, { recursive: true });
  const node = nodeStart();
  const { commands, jobs } = await throughServe(dir, floorDir);
  const fresh = await throughFreshCli(dir, floorDir);
  rmSync(dir, { recursive: true, force: true });
  removed(root);
  return { serve: commands, jobs, cli: fresh, nodeStart: node };
}

const rate = (n: number) => n.toFixed(0);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const floorCell = (m: Measured, k: keyof Floors) => `${rate(m[k])} (${rate(m.before[k])}, ${rate(m.after[k])})`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

try {
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await oneRun(i));
  console.log(`\nforkpoint pipeline benchmark — ${new Date().toISOString()} — ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}) — ${root}`);
  console.log(SETTLE_S > 0 ? `settled: nothing created until ${SETTLE_S} s after the last removal (see SETTLE_S)` : 'not settled: creating right after removing (FORKPOINT_BENCH_SETTLE_S=0)');
  console.log(`${N} boxes; rates in boxes/s; each floor is the mean of the one measured right before the figure and the one right after (both in brackets); ratios are rate ÷ that mean\n`);
  console.log('| run | what | boxes/s | one-flush floor (before, after) | ratio | fsync-per-file floor (before, after) | ratio | layout floor (before, after) | ratio |');
  console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  const rowsOf = (r: Run): [string, Measured][] => [
    ['clone job, producer connected to serve', r.jobs.clone],
    ['rm job, producer connected to serve', r.jobs.rm],
    ['clone command through serve', r.serve.clone],
    ['box rm command through serve', r.serve.rm],
    ['clone, fresh CLI process', r.cli.clone],
    ['box rm, fresh CLI process', r.cli.rm],
  ];
  runs.forEach((r, i) => {
    for (const [what, m] of rowsOf(r)) {
      console.log(`| ${i + 1} | ${what} | ${rate(m.rate)} | ${floorCell(m, 'oneFlush')} | ${ratio(m.rate, m.oneFlush)} | ${floorCell(m, 'fsyncEach')} | ${ratio(m.rate, m.fsyncEach)} | ${floorCell(m, 'layout')} | ${ratio(m.rate, m.layout)} |`);
    }
  });
  // What the floors allow at all: nothing of ours can beat the layout floor, and a command cannot beat
  // a bare node's start plus it (its job's files, written as fast as the disk takes them).
  // Removal is left out: its folders go in parallel, which its floors (one thread) do not.
  console.log('\nthe best a clone could reach, as a ratio to its one-flush floor: the layout floor (a job), and the layout floor after a bare `node -e \'\'` start (a command)');
  runs.forEach((r, i) => {
    const bound = (m: Measured) => `${ratio(m.layout, m.oneFlush)} a job, ${ratio(N / (r.nodeStart + N / m.layout), m.oneFlush)} a command`;
    console.log(`  run ${i + 1}: node starts in ${(r.nodeStart * 1000).toFixed(0)} ms; clone through serve ${bound(r.serve.clone)}, as a fresh CLI ${bound(r.cli.clone)}`);
  });
  if (runs.length > 1) {
    console.log(`\nover ${runs.length} runs, range (median): boxes/s; ratio to the one-flush floor; to the fsync-per-file floor; to the layout floor`);
    rowsOf(runs[0]!).forEach(([what], k) => {
      const ms = runs.map((r) => rowsOf(r)[k]![1]);
      const range = (xs: number[], digits: number) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)} (${median(xs).toFixed(digits)})`;
      console.log(`  ${what}: ${range(ms.map((m) => m.rate), 0)}/s; ${range(ms.map((m) => m.rate / m.oneFlush), 2)}×; ${range(ms.map((m) => m.rate / m.fsyncEach), 2)}×; ${range(ms.map((m) => m.rate / m.layout), 2)}×`);
    });
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
