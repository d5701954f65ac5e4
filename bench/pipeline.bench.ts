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
 *   - their floors, measured in the same run in the same folder: N × (mkdir + a 192 KiB sparse file
 *     with 3 small writes), then one `sync -f` (one flush); the same with an fsync per file and
 *     folder (a flush per child); N × (unlink + rmdir), then one `sync -f`, or an fsync of the
 *     parent folder after each.
 * Every figure is printed next to both floors as a ratio (rate ÷ floor rate: 1.0× is the floor).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, readFileSync, mkdirSync, mkdtempSync, openSync, realpathSync, rmdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const N = Number(process.env.FORKPOINT_BENCH_BOXES ?? 2000);
const RUNS = Number(process.env.FORKPOINT_BENCH_RUNS ?? 1);
const BIN = resolve(fileURLToPath(import.meta.url), '../../bin/forkpoint.js');
const root = realpathSync(mkdtempSync(join(process.env.FORKPOINT_BENCH_DIR ?? tmpdir(), 'fp-bench-pipe-')));
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
// The user's default: no Redis named (a local one, else each home's private redis-server).
const env = { ...process.env };
for (const name of ['REDIS_URL', 'FORKPOINT_HOME', 'FORKPOINT_PREFIX']) delete env[name];

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

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
    if (flushEach) fsyncPath(folder);
  }
  if (flushEach) fsyncPath(dir);
  else spawnSync('sync', ['-f', dir]);
  return N / seconds(t0);
}

function removeChildren(dir: string, flushEach: boolean): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    unlinkSync(join(dir, `c${i}`, 'disk'));
    rmdirSync(join(dir, `c${i}`));
    if (flushEach) fsyncPath(dir);
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

/** clone --count N then box rm of them, on a fresh home; returns boxes/s of each. */
function cloneThenRemove(home: string): { clone: number; rm: number } {
  const clone = cli(home, ['--json', 'clone', 'src', '--count', String(N), '--prefix', 'b-']);
  const targets = (JSON.parse(clone.stdout) as { targets: string[] }).targets;
  if (targets.length !== N) throw new Error(`clone made ${targets.length} boxes, not ${N}`);
  const rm = cli(home, ['box', 'rm', ...targets]);
  return { clone: N / clone.seconds, rm: N / rm.seconds };
}

async function throughServe(dir: string): Promise<{ clone: number; rm: number }> {
  const home = join(dir, 'serve-home');
  cli(home, ['box', 'create', 'src', '--size', '10G']);
  const serve = spawn(process.execPath, [BIN, '--home', home, 'serve', '--port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
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
    return cloneThenRemove(home);
  } finally {
    serve.kill('SIGTERM');
    await exited;
  }
}

function throughFreshCli(dir: string): { clone: number; rm: number } {
  const home = join(dir, 'cli-home');
  cli(home, ['box', 'create', 'src', '--size', '10G']);
  return cloneThenRemove(home);
}

interface Run {
  floors: { makeOneFlush: number; makeFsyncEach: number; rmOneFlush: number; rmFsyncEach: number };
  serve: { clone: number; rm: number };
  cli: { clone: number; rm: number };
}

async function oneRun(i: number): Promise<Run> {
  const dir = join(root, `run-${i}`);
  mkdirSync(dir);
  const floorDir = join(dir, 'floor');
  mkdirSync(floorDir);
  const makeOneFlush = makeChildren(join(floorDir, 'a'), false);
  const rmOneFlush = removeChildren(join(floorDir, 'a'), false);
  const makeFsyncEach = makeChildren(join(floorDir, 'b'), true);
  const rmFsyncEach = removeChildren(join(floorDir, 'b'), true);
  const serve = await throughServe(dir);
  const fresh = throughFreshCli(dir);
  rmSync(dir, { recursive: true, force: true });
  return { floors: { makeOneFlush, makeFsyncEach, rmOneFlush, rmFsyncEach }, serve, cli: fresh };
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
  runs.forEach((r, i) => {
    const rows: [string, number, number, number][] = [
      ['clone through serve', r.serve.clone, r.floors.makeOneFlush, r.floors.makeFsyncEach],
      ['box rm through serve', r.serve.rm, r.floors.rmOneFlush, r.floors.rmFsyncEach],
      ['clone, fresh CLI process', r.cli.clone, r.floors.makeOneFlush, r.floors.makeFsyncEach],
      ['box rm, fresh CLI process', r.cli.rm, r.floors.rmOneFlush, r.floors.rmFsyncEach],
    ];
    for (const [what, v, one, each] of rows) console.log(`| ${i + 1} | ${what} | ${rate(v)} | ${rate(one)} | ${ratio(v, one)} | ${rate(each)} | ${ratio(v, each)} |`);
  });
  if (runs.length > 1) {
    const spread = (f: (r: Run) => number) => {
      const xs = runs.map(f);
      return `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}×`;
    };
    console.log(`\nspread of the ratios to the one-flush floor over ${runs.length} runs:`);
    console.log(`  clone through serve ${spread((r) => r.serve.clone / r.floors.makeOneFlush)}, box rm through serve ${spread((r) => r.serve.rm / r.floors.rmOneFlush)}`);
    console.log(`  clone fresh CLI ${spread((r) => r.cli.clone / r.floors.makeOneFlush)}, box rm fresh CLI ${spread((r) => r.cli.rm / r.floors.rmOneFlush)}`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
