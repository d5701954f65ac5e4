/**
 * A 3-master Redis Cluster on loopback for one test file: three redis-server
 * processes in temp folders on free ports, joined by `redis-cli --cluster
 * create`, stopped (by their own pids) and removed by stop().
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCluster {
  ports: number[];
  /** `redis-cluster://127.0.0.1:P1,…` */
  url: string;
  /** redis-cli against one node (no -c: the answer is that node's own). */
  cli(port: number, ...args: string[]): string;
  stop(): Promise<void>;
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

/** A port P with P and its cluster bus port P+10000 both free. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 20000);
    if (taken.has(p) || taken.has(p + 10000)) continue;
    if ((await portFree(p)) && (await portFree(p + 10000))) return p;
  }
  throw new Error('no free port pair for a cluster node');
}

export async function startTestCluster(): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'forkpoint-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const cli = (port: number, ...args: string[]) => execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8' });
  const stop = async () => {
    await Promise.all(
      children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise<void>((r) => (c.once('exit', () => r()), c.kill('SIGTERM'))))),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const taken = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const port = await freeClusterPort(taken);
      taken.add(port).add(port + 10000);
      const nodeDir = join(dir, `n${i}`);
      execFileSync('mkdir', ['-p', nodeDir]);
      children.push(
        spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(nodeDir, 'nodes.conf'),
          '--dir', nodeDir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' }),
      );
      ports.push(port);
    }
    for (const port of ports) await until(`node ${port} answers`, () => cli(port, 'PING').trim() === 'PONG');
    execFileSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'ignore' });
    for (const port of ports) await until(`node ${port} sees the cluster ok`, () => cli(port, 'CLUSTER', 'INFO').includes('cluster_state:ok'));
  } catch (err) {
    await stop();
    throw err;
  }
  return { ports, url: `redis-cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, cli, stop };
}

async function until(what: string, ok: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (ok()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${what}: timed out`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
