/**
 * Pipeline benchmark (not a test: it prints, it asserts nothing).
 *
 *   npm run bench:pipeline     (FORKPOINT_BENCH_BOXES=… changes N, default 2000;
 *                               FORKPOINT_BENCH_RUNS=… repeats the whole run, default 1;
 *                               FORKPOINT_BENCH_DIR=… where the homes go, default the temp folder)
 *
 * Built CLI (npm run build first). From one run, on fresh homes on one filesystem:
 *   - `forkpoint clone src --count N`, then `forkpoint box rm` of those N boxes, through a running
 *     `forkpoint serve` (the command's wall clock: its start-up, the job, the wait);
 *   - the same two commands as fresh CLI processes with no serve (each starts its own pipeline and
 *     a private redis-server: start-up, recovery and shutdown included);
 *   - their floors, measured in the same run on the same filesystem right before each figure (the
 *     disk swings from minute to minute): N × (mkdir + a 192 KiB sparse file with 3 small writes),
 *     then one `sync -f` (one flush); the same with an fsync per file and folder (a flush per
 *     child); N × (unlink + rmdir), then one `sync -f`, or an fsync of the parent folder after each.
 * Every figure is printed next to both floors as a ratio (rate ÷ floor rate: 1.0× is the floor).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, readFileSync, mkdirSync, mkdtempSync, openSync, realpathSync, rmdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fsyncFolder } from '../src/qcow2/durable.js';

const N = Number(process.env.FORKPOINT_BENCH_BOXES ?? 2000);
const RUNS = Number(process.env.FORKPOINT_BENCH_RUNS ?? 1);
const BIN = resolve(fileURLToPath(import.meta.url), '../../bin/forkpoint.js');
const root = realpathSync(mkdtempSync(join(process.env.FORKPOINT_BENCH_DIR ?? tmpdir(), 'fp-bench-pipe-')));
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
// The user's default: no Redis named (a local one, else each home's private redis-server).
const env = { ...process.env };
for (const name of ['REDIS_URL', 'FORKPOINT_HOME', 'FORKPOINT_PREFIX']) delete env[name];


/** What a child costs at the least: a folder, a 192 KiB sparse file, 3 small writes (header, L1, refcount), as the child writer lays them out. */
function makeChildren(dir: string, flushEach: boolean): number {
  mkdirSync(dir);
  const header = Buffer.alloc(512, 1);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const folder = join(dir, `c${i}`);
    mkdirSync(folder);
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

function removeChildren(dir: string, flushEach: boolean): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    unlinkSync(join(dir, `c${i}`, 'disk'));
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

interface Measured {
  /** boxes/s */
  rate: number;
  /** the floors measured just before it, boxes/s */
  oneFlush: number;
  fsyncEach: number;
}

let floorRound = 0;
/** Both floors of one kind, measured right before the figure they go with: the disk swings from minute to minute. */
function floorsFor(kind: 'make' | 'rm', dir: string): { oneFlush: number; fsyncEach: number } {
  const a = join(dir, `f${++floorRound}a`);
  const b = join(dir, `f${floorRound}b`);
  if (kind === 'make') {
    const r = { oneFlush: makeChildren(a, false), fsyncEach: makeChildren(b, true) };
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
    return r;
  }
  makeChildren(a, false);
  makeChildren(b, true);
  return { oneFlush: removeChildren(a, false), fsyncEach: removeChildren(b, true) };
}

/** clone --count N then box rm of them, on a fresh home, each after its floors. */
function cloneThenRemove(home: string, floorDir: string): { clone: Measured; rm: Measured } {
  const cloneFloors = floorsFor('make', floorDir);
  const clone = cli(home, ['--json', 'clone', 'src', '--count', String(N), '--prefix', 'b-']);
  const targets = (JSON.parse(clone.stdout) as { targets: string[] }).targets;
  if (targets.length !== N) throw new Error(`clone made ${targets.length} boxes, not ${N}`);
  const rmFloors = floorsFor('rm', floorDir);
  const rm = cli(home, ['box', 'rm', ...targets]);
  return { clone: { rate: N / clone.seconds, ...cloneFloors }, rm: { rate: N / rm.seconds, ...rmFloors } };
}

async function throughServe(dir: string, floorDir: string): Promise<{ clone: Measured; rm: Measured }> {
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
    return cloneThenRemove(home, floorDir);
  } finally {
    serve.kill('SIGTERM');
    await exited;
  }
}

function throughFreshCli(dir: string, floorDir: string): { clone: Measured; rm: Measured } {
  const home = join(dir, 'cli-home');
  cli(home, ['box', 'create', 'src', '--size', '10G']);
  return cloneThenRemove(home, floorDir);
}

interface Run {
  serve: { clone: Measured; rm: Measured };
  cli: { clone: Measured; rm: Measured };
}

async function oneRun(i: number): Promise<Run> {
  const dir = join(root, `run-${i}`);
  const floorDir = join(dir, 'floor');
  mkdirSync(floorDir, { recursive: true });
  const serve = await throughServe(dir, floorDir);
  const fresh = throughFreshCli(dir, floorDir);
  rmSync(dir, { recursive: true, force: true });
  return { serve, cli: fresh };
}

const rate = (n: number) => n.toFixed(0);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

try {
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await oneRun(i));
  console.log(`\nforkpoint pipeline benchmark — ${new Date().toISOString()} — ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}) — ${root}`);
  console.log(`${N} boxes; rates in boxes/s; ratios are rate ÷ the floor measured in the same run\n`);
  console.log('| run | what | boxes/s | one-flush floor | ratio | fsync-per-file floor | ratio |');
  console.log('|---:|---|---:|---:|---:|---:|---:|');
  const rowsOf = (r: Run): [string, Measured][] => [
    ['clone through serve', r.serve.clone],
    ['box rm through serve', r.serve.rm],
    ['clone, fresh CLI process', r.cli.clone],
    ['box rm, fresh CLI process', r.cli.rm],
  ];
  runs.forEach((r, i) => {
    for (const [what, m] of rowsOf(r)) console.log(`| ${i + 1} | ${what} | ${rate(m.rate)} | ${rate(m.oneFlush)} | ${ratio(m.rate, m.oneFlush)} | ${rate(m.fsyncEach)} | ${ratio(m.rate, m.fsyncEach)} |`);
  });
  if (runs.length > 1) {
    console.log(`\nspread over ${runs.length} runs (boxes/s; ratio to the one-flush floor; ratio to the fsync-per-file floor):`);
    rowsOf(runs[0]!).forEach(([what], k) => {
      const ms = runs.map((r) => rowsOf(r)[k]![1]);
      const range = (xs: number[], digits: number) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
      console.log(`  ${what}: ${range(ms.map((m) => m.rate), 0)}/s; ${range(ms.map((m) => m.rate / m.oneFlush), 2)}×; ${range(ms.map((m) => m.rate / m.fsyncEach), 2)}×`);
    });
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
