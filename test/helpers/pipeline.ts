/** A real pipeline on a temp home and the test run's private Redis. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, inject } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { readBackingChain } from '../../src/qcow2/index.js';
import { qemuCreate, qemuWrite } from './qemu.js';
import { mintBaseId } from '../../src/ids.js';
import { homeLayout, type HomeLayout } from '../../src/layout.js';
import { Forkpoint } from '../../src/producers/client.js';
import { startPipeline, type Pipeline, type PipelineOptions } from '../../src/workers/pipeline.js';

export const TEST_PREFIX = '{fp-test}';

export interface TestPipeline {
  layout: HomeLayout;
  homeId: string;
  redisUrl: string;
  pipeline: Pipeline;
  client: Forkpoint;
  close(): Promise<void>;
}

export async function startTestPipeline(dir: string, o: Partial<PipelineOptions> = {}): Promise<TestPipeline> {
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const layout = homeLayout(realpathSync(home));
  const homeId = o.homeId ?? `t${mintBaseId()}`;
  const redisUrl = inject('redisUrl');
  const pipeline = await startPipeline({ layout, homeId, redisUrl, prefix: TEST_PREFIX, poolSize: 2, shutdownGraceMs: 10_000, ...o });
  const client = await Forkpoint.connect({ redisUrl, homeId, prefix: TEST_PREFIX });
  return {
    layout,
    homeId,
    redisUrl,
    pipeline,
    client,
    async close() {
      await client.close();
      await pipeline.close();
    },
  };
}

/** `start(dir)` for tests: a pipeline on a temp home, closed after the test. */
export function useTestPipelines(): (dir: string, o?: Partial<PipelineOptions>) => Promise<TestPipeline> {
  const open: TestPipeline[] = [];
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close();
  });
  return async (dir, o = {}) => {
    const t = await startTestPipeline(dir, o);
    open.push(t);
    return t;
  };
}

/** Wait until the home's GC queue has nothing waiting or running. */
export async function gcSettled(client: Forkpoint, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Empty three looks in a row, 25 ms apart: a request made while a base's GC job ran is held and
  // enqueued once that job has ended (workers/gc-requests.ts), so for a moment the queue is empty
  // with one more run to come (pipeline.cancel saw its base left behind by that).
  for (let quiet = 0; quiet < 3; ) {
    if ((await client.pending('gc')) > 0) quiet = 0;
    else quiet++;
    if (Date.now() > deadline) throw new Error('GC queue did not settle');
    await new Promise((r) => setTimeout(r, 25));
  }
}

// ---------------------------------------------------------------------------
// The auditor: the DESIGN.md invariants checked against a quiet home.
// ---------------------------------------------------------------------------

export interface AuditOptions {
  /** The golden image each box must read the bytes of (boxes not in the map are only checked for validity). */
  goldenOf?: ReadonlyMap<string, string>;
  /** Also fail on clone bases (and tombstoned snapshots) that nothing reads (use after a final sweep). */
  noGarbage?: boolean;
}

/** Run qemu-img asynchronously (two at a time keeps both cores busy without starving the pipeline). */
function qemuAsync(args: string[]): Promise<{ status: number; output: string }> {
  return new Promise((resolveRun) => {
    execFile('qemu-img', args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolveRun({ status, output: `${stdout}${stderr}` });
    });
  });
}

async function limit<T>(items: T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

/**
 * Check a home that nothing is changing: returns every problem found (empty = the invariants hold).
 * - every base record is settled (ready), has its file (mode 0400: read-only, owner only), and its parent exists;
 * - every file in bases/ has a record, every box folder has a box record;
 * - every box is ready, its disk exists, the base it reads and every base it holds a ref to exist;
 *   every image in its backing chain is a recorded base (nothing it reads is missing from DB or disk);
 * - qemu-img check passes on every box disk, and qemu-img compare with its golden image when known;
 * - with noGarbage: no clone base / tombstoned snapshot with no reader at all.
 */
export async function auditHome(layout: HomeLayout, o: AuditOptions = {}): Promise<string[]> {
  const problems: string[] = [];
  const reader = openReader(layout.home);
  const disks: { id: string; disk: string }[] = [];
  try {
    const bases = reader.listBases({ includeTombstoned: true });
    const byId = new Map(bases.map((b) => [b.id, b]));
    const byPath = new Map(bases.map((b) => [b.basePath, b]));
    for (const b of bases) {
      if (b.state !== 'ready') problems.push(`base ${b.id} (${b.kind}) is ${b.state}`);
      if (!existsSync(b.basePath)) problems.push(`base ${b.id} (${b.kind}) has no file ${b.basePath}`);
      else if ((statSync(b.basePath).mode & 0o777) !== 0o400) problems.push(`base ${b.id} is not read-only 0400`);
      if (b.parentId !== null && !byId.has(b.parentId)) problems.push(`base ${b.id}: parent ${b.parentId} has no record`);
      if (o.noGarbage && (b.kind === 'clone_base' || (b.kind === 'snapshot' && b.tombstoned))) {
        const r = reader.readers(b.id);
        if (r.refs + r.boxes + r.children === 0) problems.push(`unreferenced ${b.kind} ${b.id} survived the sweep`);
      }
    }
    for (const f of existsSync(layout.basesDir) ? readdirSync(layout.basesDir) : []) {
      if (!byPath.has(join(layout.basesDir, f))) problems.push(`file bases/${f} has no record`);
    }
    const boxes = reader.listBoxes();
    const boxIds = new Set(boxes.map((b) => b.id));
    for (const d of existsSync(layout.boxesDir) ? readdirSync(layout.boxesDir) : []) {
      if (!boxIds.has(d)) problems.push(`box folder boxes/${d} has no record`);
    }
    for (const box of boxes) {
      if (box.state !== 'ready') problems.push(`box ${box.id} is ${box.state}`);
      if (box.baseId !== null && !byId.has(box.baseId)) problems.push(`box ${box.id} reads base ${box.baseId}, which has no record`);
      for (const ref of reader.refsOfBox(box.id)) {
        if (!byId.has(ref)) problems.push(`box ${box.id} holds a ref to base ${ref}, which has no record`);
      }
      if (!existsSync(box.diskPath)) {
        problems.push(`box ${box.id} has no disk ${box.diskPath}`);
        continue;
      }
      try {
        for (const link of readBackingChain(box.diskPath).slice(1)) {
          const rec = byPath.get(link.path);
          if (!rec) problems.push(`box ${box.id} reads ${link.path}, which has no record`);
          else if (rec.state !== 'ready') problems.push(`box ${box.id} reads base ${rec.id}, which is ${rec.state}`);
        }
      } catch (err) {
        problems.push(`box ${box.id}: backing chain unreadable: ${(err as Error).message}`);
      }
      disks.push({ id: box.id, disk: box.diskPath });
    }
  } finally {
    reader.close();
  }
  await limit(disks, 2, async ({ id, disk }) => {
    const check = await qemuAsync(['check', '-U', disk]);
    if (check.status !== 0) problems.push(`box ${id}: qemu-img check failed (${check.status}): ${check.output.trim().slice(0, 300)}`);
    const golden = o.goldenOf?.get(id);
    if (golden !== undefined) {
      const cmp = await qemuAsync(['compare', '-U', golden, disk]);
      if (cmp.status !== 0) problems.push(`box ${id}: does not read its source's bytes (compare ${cmp.status}): ${cmp.output.trim().slice(0, 200)}`);
    }
  });
  return problems;
}

/** A golden qcow2 image with data in two places (the pattern byte tells images apart). */
export function goldenImage(path: string, pattern: number): string {
  qemuCreate(path, { size: '16M' });
  qemuWrite(path, pattern, 0, 65536);
  qemuWrite(path, pattern ^ 0xff, 5 * 1024 * 1024, 3 * 65536);
  return path;
}

/** Wait for `cond` (polled; the deadline is generous and only there so a hang fails with a message). */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// ---------------------------------------------------------------------------
// The built CLI and `forkpoint serve` as child processes.
// ---------------------------------------------------------------------------

export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
export const BIN = join(REPO_ROOT, 'bin', 'forkpoint.js');

/** The environment a child CLI sees: no inherited REDIS_URL / FORKPOINT_* settings, the test prefix, 2 threads. */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FORKPOINT_PREFIX: TEST_PREFIX, FORKPOINT_POOL_SIZE: '2' };
  for (const k of ['REDIS_URL', 'FORKPOINT_HOME', 'NODE_OPTIONS']) delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `node bin/forkpoint.js …args` to the end (asynchronously: a serve child keeps being read meanwhile). */
export function runCli(args: string[], o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: o.env ?? cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolveRun({ status, signal, stdout, stderr });
    });
  });
}

/** A CLI command left running, to be signalled mid-way (cli.ctrl-c-*.test.ts). */
export interface BackgroundCli {
  child: ChildProcess;
  /** Its stderr so far. */
  stderr(): string;
  /** The `--progress json` lines on its stderr so far. */
  progress(): { phase?: string; done: number }[];
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** Send SIGINT (Ctrl-C) and wait for it to exit. */
  interrupt(): Promise<void>;
}

/** Start `node bin/forkpoint.js …args` in the background (pass `--progress json` to read progress()). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = cliEnv()): BackgroundCli {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    stderr: () => stderr,
    progress: () =>
      stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { phase?: string; done: number }),
    exited,
    async interrupt() {
      child.kill('SIGINT');
      await exited;
    },
  };
}

export interface ServeProcess {
  child: ChildProcess;
  pid: number;
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Wait until stderr matches. */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<void>;
}

/**
 * Start `forkpoint --home H --redis URL serve --port 0 …` and wait until it owns the home and takes jobs:
 * `run/owner.json` names this pid as the serve owner with its Redis (written once the pipeline is up),
 * which does not depend on how the service words its log lines.
 */
export async function startServe(
  home: string,
  /** null: no --redis (and no REDIS_URL: cliEnv drops it), so serve uses the home's private redis-server. */
  redisUrl: string | null,
  extra: string[] = [],
  o: { waitReady?: boolean; env?: Record<string, string | undefined> } = {},
): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, '--home', home, ...(redisUrl === null ? [] : ['--redis', redisUrl]), 'serve', '--port', '0', ...extra], {
    cwd: REPO_ROOT,
    env: cliEnv(o.env),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  let done = false;
  void exited.then(() => (done = true));
  const serve: ServeProcess = {
    child,
    pid: child.pid!,
    stderr: () => stderr,
    exited,
    async waitForStderr(re, timeoutMs = 60_000) {
      await waitFor(`serve stderr to match ${re} (stderr so far: ${stderr})`, () => re.test(stderr) || done, timeoutMs, 20);
      if (!re.test(stderr)) throw new Error(`serve exited before printing ${re}: ${stderr}`);
    },
  };
  if (o.waitReady ?? true) {
    const owns = () => {
      try {
        const owner = JSON.parse(readFileSync(join(home, 'run', 'owner.json'), 'utf8')) as { pid: number; kind: string; redisUrl: string };
        return owner.pid === child.pid && owner.kind === 'serve' && owner.redisUrl !== '';
      } catch {
        return false;
      }
    };
    await waitFor('serve to own the home', () => owns() || done, 60_000, 20);
    if (!owns()) throw new Error(`serve exited before it owned the home: ${stderr}`);
  }
  return serve;
}

/** Count a home's ready boxes (a read-only look while someone else writes). */
export function readyBoxes(home: string): number {
  const reader = openReader(home);
  try {
    return reader.listBoxes({ state: 'ready' }).length;
  } finally {
    reader.close();
  }
}

/** A running serve's home id (the CLI mints it on first use). */
export function homeIdOf(home: string): string {
  return readFileSync(join(home, 'home-id'), 'utf8').trim();
}

/**
 * Clean-up for tests that start `serve` processes and clients: `defer(fn)`
 * runs after the test (last deferred first); `killAtEnd(s)` SIGKILLs a serve
 * the test left running.
 */
export function useCleanup(): { defer(fn: () => unknown): void; killAtEnd(s: ServeProcess): ServeProcess } {
  const pending: (() => unknown)[] = [];
  afterEach(async () => {
    for (const f of pending.splice(0).reverse()) await f();
  });
  return {
    defer: (fn) => void pending.push(fn),
    killAtEnd(s) {
      pending.push(async () => {
        if (s.child.exitCode === null && s.child.signalCode === null) {
          s.child.kill('SIGKILL');
          await s.exited;
        }
      });
      return s;
    },
  };
}

/**
 * After each test, kill every redis-server still serving a socket handed to the returned function: a
 * home's private Redis outlives the CLI or serve that started it when the test kills them.
 */
export function useRedisServerCleanup(): (socket: string) => void {
  const sockets: string[] = [];
  afterEach(() => {
    for (const pid of sockets.splice(0).flatMap(redisServersOn)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  });
  return (socket) => void sockets.push(socket);
}

/** pids of redis-server processes whose command line names `socket` (read from /proc; no tools needed). */
export function redisServersOn(socket: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes('redis-server') && cmd.includes(socket)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
