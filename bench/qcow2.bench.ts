/**
 * qcow2 engine benchmark (not a test: it prints, it asserts nothing).
 *
 *   npm run bench:qcow2     (FORKPOINT_BENCH_N=… scales the iteration counts,
 *                            FORKPOINT_BENCH_DIR=… picks the filesystem; default the OS temp folder)
 *
 * Per-operation time of our child writer, fork and batch writer, next to
 * spawning `qemu-img create -f qcow2 -F qcow2 -b BASE CHILD`, and next to the
 * physical floor: the same syscalls done by hand with no qcow2 logic at all.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, fsyncSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, realpathSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forkQcow2, writeCowChild, writeCowChildren } from '../src/qcow2/index.js';

const SCALE = Number(process.env.FORKPOINT_BENCH_N ?? 1);
const n = (base: number): number => Math.max(3, Math.round(base * SCALE));

// FORKPOINT_BENCH_DIR picks the filesystem (e.g. /dev/shm to see CPU cost without disk metadata cost).
const root = realpathSync(mkdtempSync(join(process.env.FORKPOINT_BENCH_DIR ?? tmpdir(), 'fp-bench-')));
const base = join(root, 'base.qcow2');
execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, '10G']);
execFileSync('qemu-io', ['-c', 'write -P 0xab 0 4M', base], { stdio: 'ignore' });
chmodSync(base, 0o444); // as every base is after a fork (DESIGN invariant 6)

let seq = 0;
const fresh = (dir: string): string => join(dir, `f${seq++}.qcow2`);
function folder(name: string): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  return d;
}

const ROUNDS = 5;

/**
 * µs per op: the median of ROUNDS round means (each round `iterations / ROUNDS`
 * calls), after a few warm-up calls. The median keeps one round disturbed by
 * other work on a shared machine from skewing the figure.
 */
function measure(iterations: number, op: () => void, perCall = 1): number {
  for (let i = 0; i < 3; i++) op();
  const perRound = Math.max(1, Math.round(iterations / ROUNDS));
  const means: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < perRound; i++) op();
    means.push(Number(process.hrtime.bigint() - t0) / 1000 / perRound / perCall);
  }
  return means.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  fsyncSync(fd);
  closeSync(fd);
}

const rows: { name: string; us: number }[] = [];
const row = (name: string, us: number): number => (rows.push({ name, us }), us);

// qemu-img, spawned the way the runtime would
const qemuDir = folder('qemu');
const qemu = row('qemu-img create -b BASE CHILD (spawned)', measure(n(40), () => {
  const r = spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, fresh(qemuDir)]);
  if (r.status !== 0) throw new Error(String(r.stderr));
}));

// our overlay writer
const ovNo = folder('ov-nofsync');
const overlayNoFsync = row('writeCowChild, fsync off', measure(n(2000), () => void writeCowChild(base, fresh(ovNo), { fsync: false })));
const ovYes = folder('ov-fsync');
const overlayFsync = row('writeCowChild, fsync on', measure(n(200), () => void writeCowChild(base, fresh(ovYes), { fsync: true })));

// batch writer: per child
const BATCH = 200;
const batchNo = row(`writeCowChildren x${BATCH}, fsync off (per child)`, measure(n(10), () => {
  const d = folder(`batch-no-${seq++}`);
  writeCowChildren(base, Array.from({ length: BATCH }, () => fresh(d)), { fsync: false });
}, BATCH));
const batchYes = row(`writeCowChildren x${BATCH}, fsync on (per child)`, measure(n(5), () => {
  const d = folder(`batch-yes-${seq++}`);
  writeCowChildren(base, Array.from({ length: BATCH }, () => fresh(d)), { fsync: true });
}, BATCH));

// fork: the same box disk forked again and again (each fork nests one level; fork never walks the chain)
function forkBench(fsync: boolean, iterations: number): number {
  const box = folder(`box-${fsync}`);
  const bases = folder(`bases-${fsync}`);
  const disk = join(box, 'container.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '10G']);
  return measure(iterations, () => void forkQcow2(disk, fresh(bases), { fsync }));
}
const forkFsync = row('forkQcow2, fsync on', forkBench(true, n(200)));
const forkNoFsync = row('forkQcow2, fsync off', forkBench(false, n(1000)));

// physical floor: the syscalls a fork cannot avoid, no qcow2 logic
const small = Buffer.alloc(512, 1);
function floorOp(dir: string, fsync: boolean, move: boolean): () => void {
  const src = join(dir, 'src');
  closeSync(openSync(src, 'w'));
  return () => {
    if (move) {
      const dst = fresh(dir);
      renameSync(src, dst);
      if (fsync) fsyncDir(dir);
    }
    const fd = openSync(move ? src : fresh(dir), 'wx');
    writeSync(fd, small, 0, small.length, 0);
    ftruncateSync(fd, 262144);
    if (fsync) fsyncSync(fd);
    closeSync(fd);
    if (fsync) fsyncDir(dir);
  };
}
const floorCreate = row('floor: open(O_EXCL)+pwrite+ftruncate, no fsync', measure(n(2000), floorOp(folder('floor1'), false, false)));
const floorDurable = row('floor: rename+fsync dir+create+pwrite+fsync file+fsync dir', measure(n(200), floorOp(folder('floor2'), true, true)));

const fmt = (us: number): string => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
console.log(`\nqcow2 engine, ${new Date().toISOString()}, node ${process.version}, ${root}\n`);
console.log('| operation | per op | vs qemu-img create |');
console.log('|---|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${fmt(r.us)} | ${(qemu / r.us).toFixed(1)}× |`);
console.log(`
Goals: durable fork ≥ 10× faster than qemu-img: ${(qemu / forkFsync).toFixed(1)}× (${qemu / forkFsync >= 10 ? 'met' : 'NOT met'}).
       non-durable overlay write ≥ 100×: ${(qemu / overlayNoFsync).toFixed(1)}× (${qemu / overlayNoFsync >= 100 ? 'met' : 'NOT met'}).
Distance to the floor: durable fork ${(forkFsync / floorDurable).toFixed(2)}× the durable floor; overlay (no fsync) ${(overlayNoFsync / floorCreate).toFixed(2)}× the create floor.
Batch per child: ${fmt(batchNo)} (no fsync), ${fmt(batchYes)} (fsync) vs single ${fmt(overlayNoFsync)} / ${fmt(overlayFsync)}. Fork without fsync: ${fmt(forkNoFsync)}.`);
rmSync(root, { recursive: true, force: true });
