/**
 * qcow2 engine benchmark (not a test: it prints, it asserts nothing).
 *
 *   npm run bench:qcow2     (FORKPOINT_BENCH_N=… scales the iteration counts,
 *                            FORKPOINT_BENCH_DIR=… picks the filesystem; default the OS temp folder)
 *
 * Per-operation time of our child writer, fork and batch writer, next to
 * spawning `qemu-img create -f qcow2 -F qcow2 -b BASE CHILD`, and next to the
 * physical floor measured in the same rounds: the same syscalls done by hand
 * with no qcow2 logic at all, in the same folders (fork: rename into the bases
 * folder + fsync it + create + the child's 3 writes + ftruncate + fsync file +
 * fsync folder; overlay: create + 3 writes + ftruncate). On ext4 without a
 * journal, creates within a minute of many removals are slower (see floorOp),
 * this bench's own clean-up included: a run right after another measures that. Batches of 200 children, one folder each as in a
 * home, are made durable three ways: an fsync per child (and folder) as it is
 * written, group flush (writeCowChildrenFlushed: all fsyncs in flight
 * together), and one syncfs of the filesystem (`sync -f`, spawned: Node has
 * no syncfs). FORKPOINT_BENCH_NEIGHBOUR=1 adds a process that keeps dirtying
 * the page cache of the same filesystem (as running VMs do), which a syncfs
 * must flush too.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, constants, fstatSync, fsyncSync, ftruncateSync, lstatSync, mkdirSync, mkdtempSync, openSync, readSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planChildOfBase } from '../src/qcow2/plan-child-of-base.js';
import { forkQcow2, writeCowChild, writeCowChildren, writeCowChildrenFlushed } from '../src/qcow2/index.js';
import { fsyncFolder } from '../src/qcow2/durable.js';

const SCALE = Number(process.env.FORKPOINT_BENCH_N ?? 1);

/** The neighbour: 8 MiB of writes every 20 ms over a 512 MiB file, never flushed. */
const NEIGHBOUR_SCRIPT = `const fs = require('node:fs'); const fd = fs.openSync(process.argv[1], 'w'); const b = Buffer.alloc(1 << 20, 7); let o = 0;
setInterval(() => { for (let i = 0; i < 8; i++) { fs.writeSync(fd, b, 0, b.length, o); o = (o + b.length) % (512 << 20); } }, 20);`;

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
  op: () => void | Promise<void>;
  samples: number[];
}

const benches: Bench[] = [];
function bench(name: string, calls: number, op: () => void | Promise<void>, perCall = 1): Bench {
  const b: Bench = { name, calls: Math.max(1, Math.round(calls * SCALE)), perCall, op, samples: [] };
  benches.push(b);
  return b;
}

async function runRounds(): Promise<void> {
  for (const b of benches) await b.op(); // warm-up: caches, JIT, first-file costs
  for (let r = 0; r < ROUNDS; r++) {
    for (const b of benches) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < b.calls; i++) await b.op();
      b.samples.push(Number(process.hrtime.bigint() - t0) / 1000 / b.calls / (b.perCall ?? 1));
    }
  }
}

const median = (b: Bench): number => [...b.samples].sort((x, y) => x - y)[Math.floor(b.samples.length / 2)]!;


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

// batch writer, per child: 200 children, each in its own folder (as boxes/<id>/disks/ in a home)
const BATCH = 200;
function batchTargets(tag: string): string[] {
  const d = folder(`batch-${tag}-${seq++}`);
  return Array.from({ length: BATCH }, (_, i) => {
    mkdirSync(join(d, `b${i}`));
    return join(d, `b${i}`, 'container.qcow2');
  });
}
const batchNo = bench(`writeCowChildren x${BATCH}, fsync off (per child)`, 1, () => void writeCowChildren(base, batchTargets('no'), { fsync: false }), BATCH);
const batchYes = bench(`writeCowChildren x${BATCH}, fsync each child + folder (per child)`, 1, () => void writeCowChildren(base, batchTargets('yes'), { fsync: true }), BATCH);
const batchGroup = bench(`writeCowChildrenFlushed x${BATCH}, group flush (per child)`, 1, async () => void (await writeCowChildrenFlushed(base, batchTargets('group'))), BATCH);
const batchSyncfs = bench(`writeCowChildren x${BATCH}, fsync off, then one sync -f (per child)`, 1, () => {
  const targets = batchTargets('syncfs');
  writeCowChildren(base, targets, { fsync: false });
  const r = spawnSync('sync', ['-f', targets[0]!]);
  if (r.status !== 0) throw new Error(`sync -f: ${String(r.stderr)}`);
}, BATCH);
const syncfsAlone = bench('sync -f of the filesystem alone (spawned)', 1, () => {
  const r = spawnSync('sync', ['-f', root]);
  if (r.status !== 0) throw new Error(`sync -f: ${String(r.stderr)}`);
});

// fork: a box disk that is a COW child of one base (what a box looks like after its first
// clone) forked into bases/. Each call forks its own disk, made before the rounds start:
// forking one disk again and again would nest it past the depth cap, which fork refuses.
function forkOp(fsync: boolean, calls: number, box: string, bases: string): () => void {
  const total = 1 + ROUNDS * Math.max(1, Math.round(calls * SCALE)); // the warm-up call, then every round
  const disks = Array.from({ length: total }, () => writeCowChild(base, fresh(box), { fsync: false }).path);
  let next = 0;
  return () => void forkQcow2(disks[next++]!, fresh(bases), { fsync });
}
const [forkBox, forkBases] = [folder('box-fsync'), folder('bases-fsync')];
const forkFsync = bench('forkQcow2 of a child of one base, fsync on', 10, forkOp(true, 10, forkBox, forkBases));
const forkNoFsync = bench('forkQcow2 of a child of one base, fsync off', 50, forkOp(false, 50, folder('box-nofsync'), folder('bases-nofsync')));

// physical floor: the syscalls a fork or overlay cannot avoid, no qcow2 logic. The child's
// three writes at the offsets and sizes a real child has (header, refcount table, refcount block).
const childPlan = planChildOfBase(base);
const writes = childPlan.writes.map((w) => ({ offset: w.offset, bytes: Buffer.alloc(w.bytes.length, 1) }));
const childLength = childPlan.fileLength;
// Each floor works in the same folders as the operation it is the floor of: on ext4 without a
// journal (these VMs) a create skips every inode of its folder's block group freed in the last
// minute, so a floor in a folder of its own would measure another group's history, not the disk.
// `checked`: also the checks a fork cannot skip before it moves a disk, as bare syscalls: the
// source opened (no symlink) and its header read, its backing file's stat (the chain is there),
// the destination looked up (free), and the moved file made read-only (invariant 6).
function floorOp(dir: string, fsync: boolean, moveTo?: string, checked = false): () => void {
  const src = join(dir, 'floor-src');
  const header = Buffer.alloc(512);
  const fd0 = openSync(src, 'w');
  writeSync(fd0, writes[0]!.bytes, 0, writes[0]!.bytes.length, 0);
  closeSync(fd0);
  return () => {
    if (moveTo !== undefined) {
      const dest = fresh(moveTo);
      if (checked) {
        const fd = openSync(src, constants.O_RDONLY | constants.O_NOFOLLOW);
        fstatSync(fd);
        readSync(fd, header, 0, header.length, 0);
        closeSync(fd);
        statSync(base);
        if (lstatSync(dest, { throwIfNoEntry: false })) throw new Error(`${dest} exists`);
      }
      renameSync(src, dest);
      if (checked) chmodSync(dest, 0o400);
      if (fsync) fsyncFolder(moveTo);
    }
    const fd = openSync(moveTo !== undefined ? src : fresh(dir), 'wx', 0o600);
    for (const w of writes) writeSync(fd, w.bytes, 0, w.bytes.length, w.offset);
    ftruncateSync(fd, childLength);
    if (fsync) fsyncSync(fd);
    closeSync(fd);
    if (fsync) fsyncFolder(dir);
  };
}
const floorCreate = bench('floor: create + 3 writes + ftruncate, no fsync', 100, floorOp(ovNo, false));
const floorDurable = bench('floor: rename to another folder + fsync it + create + 3 writes + ftruncate + fsync file + fsync folder', 10, floorOp(forkBox, true, forkBases));
const floorChecked = bench('floor + a fork\'s checks: the durable floor, with the source opened, its header read, its backing stat-ed, the destination looked up, chmod 0400', 10, floorOp(forkBox, true, forkBases, true));

// A neighbour that keeps dirtying this filesystem's page cache, never flushing (a running VM's writes).
const neighbour = process.env.FORKPOINT_BENCH_NEIGHBOUR === '1' ? spawn(process.execPath, ['-e', NEIGHBOUR_SCRIPT, join(root, 'neighbour.bin')], { stdio: 'ignore' }) : null;
try {
  await runRounds();
} finally {
  neighbour?.kill();
}

const fmt = (us: number): string => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
console.log(`\nqcow2 engine, ${new Date().toISOString()}, node ${process.version}, ${root}${neighbour ? ', with a neighbour dirtying the page cache' : ''}\n`);
console.log('| operation | per op | vs qemu-img create |');
console.log('|---|---:|---:|');
const q = median(qemu);
for (const b of benches) console.log(`| ${b.name} | ${fmt(median(b))} | ${(q / median(b)).toFixed(1)}× |`);
const [fork, overlay, fd, fc, fk] = [median(forkFsync), median(overlayNoFsync), median(floorDurable), median(floorCreate), median(floorChecked)];
const ratio = (x: number, of: number): string => `${(x / of).toFixed(2)}×`;
const verdict = (x: number, target: number): string => (x <= target ? 'met' : 'NOT met');
console.log(`
Against the floors of this run (targets: durable fork ≤ 1.3×, overlay ≤ 1.5×):
  durable fork ${fmt(fork)} = ${ratio(fork, fd)} its floor (${fmt(fd)}): ${verdict(fork / fd, 1.3)}
    the same floor with a fork's checks ${fmt(fk)} = ${ratio(fk, fd)} the floor; the fork is ${ratio(fork, fk)} of it (the rest is our code and the canonical-name readlink)
  overlay (no fsync) ${fmt(overlay)} = ${ratio(overlay, fc)} its floor (${fmt(fc)}): ${verdict(overlay / fc, 1.5)}
Batch x${BATCH}, per child: fsync each ${fmt(median(batchYes))}, group flush ${fmt(median(batchGroup))} (${ratio(median(batchGroup), median(batchYes))} of fsync each), one sync -f ${fmt(median(batchSyncfs))} (${ratio(median(batchSyncfs), median(batchYes))}), no flush ${fmt(median(batchNo))}; a sync -f alone ${fmt(median(syncfsAlone))}.
Fork without fsync: ${fmt(median(forkNoFsync))}; overlay with fsync: ${fmt(median(overlayFsync))}.`);
rmSync(root, { recursive: true, force: true });
