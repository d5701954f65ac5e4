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

// FORKPOINT_BENCH_DIR picks the filesystem (e.g. /dev/shm to see CPU cost without disk metadata cost).
const root = realpathSync(mkdtempSync(join(process.env.FORKPOINT_BENCH_DIR ?? tmpdir(), 'fp-bench-')));
const base = join(root, 'base.qcow2');
execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, '10G']);
execFileSync('qemu-io', ['-c', 'write -P 0xab 0 4M', base], { stdio: 'ignore' });
chmodSync(base, 0o400); // as every base is after a fork (DESIGN invariant 6)

let seq = 0;
const fresh = (dir: string): string => join(dir, `f${seq++}.qcow2`);
function folder(name: string): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  return d;
}

/**
 * Every operation is measured in the same interleaved rounds: round r runs a
 * few calls of each op in turn, so a burst of disk work from a neighbour on
 * this shared machine slows every op of that round alike, and the ratios
 * compare like with like. The figure per op is the median of its round means.
 */
const ROUNDS = 15;

interface Bench {
  name: string;
  /** Calls per round. */
  calls: number;
  /** Units of work per call (children per batch call). */
  perCall?: number;
  op: () => void;
  samples: number[];
}

const benches: Bench[] = [];
function bench(name: string, calls: number, op: () => void, perCall = 1): Bench {
  const b: Bench = { name, calls: Math.max(1, Math.round(calls * SCALE)), perCall, op, samples: [] };
  benches.push(b);
  return b;
}

function runRounds(): void {
  for (const b of benches) b.op(); // warm-up: caches, JIT, first-file costs
  for (let r = 0; r < ROUNDS; r++) {
    for (const b of benches) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < b.calls; i++) b.op();
      b.samples.push(Number(process.hrtime.bigint() - t0) / 1000 / b.calls / (b.perCall ?? 1));
    }
  }
}

const median = (b: Bench): number => [...b.samples].sort((x, y) => x - y)[Math.floor(b.samples.length / 2)]!;

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  fsyncSync(fd);
  closeSync(fd);
}

// qemu-img, spawned the way the runtime would
const qemuDir = folder('qemu');
const qemu = bench('qemu-img create -b BASE CHILD (spawned)', 3, () => {
  const r = spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, fresh(qemuDir)]);
  if (r.status !== 0) throw new Error(String(r.stderr));
});

// our overlay writer
const ovNo = folder('ov-nofsync');
const overlayNoFsync = bench('writeCowChild, fsync off', 100, () => void writeCowChild(base, fresh(ovNo), { fsync: false }));
const ovYes = folder('ov-fsync');
const overlayFsync = bench('writeCowChild, fsync on', 10, () => void writeCowChild(base, fresh(ovYes), { fsync: true }));

// batch writer: per child
const BATCH = 200;
const batchNo = bench(`writeCowChildren x${BATCH}, fsync off (per child)`, 1, () => {
  const d = folder(`batch-no-${seq++}`);
  writeCowChildren(base, Array.from({ length: BATCH }, () => fresh(d)), { fsync: false });
}, BATCH);
const batchYes = bench(`writeCowChildren x${BATCH}, fsync on (per child)`, 1, () => {
  const d = folder(`batch-yes-${seq++}`);
  writeCowChildren(base, Array.from({ length: BATCH }, () => fresh(d)), { fsync: true });
}, BATCH);

// fork: a box disk that is a COW child of one base (what a box looks like after its first
// clone) forked into bases/. Each call forks its own disk, made before the rounds start:
// forking one disk again and again would nest it past the depth cap, which fork refuses.
function forkOp(fsync: boolean, calls: number): () => void {
  const box = folder(`box-${fsync}`);
  const bases = folder(`bases-${fsync}`);
  const total = 1 + ROUNDS * Math.max(1, Math.round(calls * SCALE)); // the warm-up call, then every round
  const disks = Array.from({ length: total }, () => writeCowChild(base, fresh(box), { fsync: false }).path);
  let next = 0;
  return () => void forkQcow2(disks[next++]!, fresh(bases), { fsync });
}
const forkFsync = bench('forkQcow2 of a child of one base, fsync on', 10, forkOp(true, 10));
const forkNoFsync = bench('forkQcow2 of a child of one base, fsync off', 50, forkOp(false, 50));

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
const floorCreate = bench('floor: open(O_EXCL)+pwrite+ftruncate, no fsync', 100, floorOp(folder('floor1'), false, false));
const floorDurable = bench('floor: rename+fsync dir+create+pwrite+fsync file+fsync dir', 10, floorOp(folder('floor2'), true, true));

runRounds();

const fmt = (us: number): string => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
console.log(`\nqcow2 engine, ${new Date().toISOString()}, node ${process.version}, ${root}\n`);
console.log('| operation | per op | vs qemu-img create |');
console.log('|---|---:|---:|');
const q = median(qemu);
for (const b of benches) console.log(`| ${b.name} | ${fmt(median(b))} | ${(q / median(b)).toFixed(1)}× |`);
const [fork, overlay, fd, fc] = [median(forkFsync), median(overlayNoFsync), median(floorDurable), median(floorCreate)];
console.log(`
Goals: durable fork ≥ 10× faster than qemu-img: ${(q / fork).toFixed(1)}× (${q / fork >= 10 ? 'met' : 'NOT met'}).
       non-durable overlay write ≥ 100×: ${(q / overlay).toFixed(1)}× (${q / overlay >= 100 ? 'met' : 'NOT met'}).
Distance to the floor: durable fork ${(fork / fd).toFixed(2)}× the durable floor; overlay (no fsync) ${(overlay / fc).toFixed(2)}× the create floor.
Batch per child: ${fmt(median(batchNo))} (no fsync), ${fmt(median(batchYes))} (fsync) vs single ${fmt(overlay)} / ${fmt(median(overlayFsync))}. Fork without fsync: ${fmt(median(forkNoFsync))}.`);
rmSync(root, { recursive: true, force: true });
