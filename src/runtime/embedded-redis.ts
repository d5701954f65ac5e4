/**
 * A private redis-server for one home, on a unix socket under the home (no
 * port to collide with, unreachable from the network). It keeps no data on
 * disk: the queues can be rebuilt from the DB journal, which is the truth.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, ForkpointError } from '../errors.js';

/** Linux limits a unix socket path to 107 bytes; deep homes get a socket in the temp folder. */
const MAX_SOCKET_PATH = 100;

export interface EmbeddedRedis {
  url: string;
  socket: string;
  stop(): Promise<void>;
}

export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export function embeddedSocketPath(runDir: string): string {
  const inHome = join(runDir, 'redis.sock');
  if (inHome.length <= MAX_SOCKET_PATH) return inHome;
  const hash = createHash('sha256').update(runDir).digest('hex').slice(0, 16);
  return join(tmpdir(), `forkpoint-${hash}.sock`);
}

/**
 * A redis-server left by a crashed owner of this home (we only start one while
 * holding the home lock, so whatever still runs on our pid file is orphaned):
 * stop it, after checking the pid really is a redis-server on our socket.
 */
async function stopLeftover(pidFile: string, socket: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    // gone already, or no /proc here: nothing we can check, so nothing we kill
  }
  if (Number.isInteger(pid) && pid > 1 && cmdline.includes('redis-server') && cmdline.includes(socket)) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 20));
  }
  rmSync(pidFile, { force: true });
}

export async function startEmbeddedRedis(runDir: string, timeoutMs = 10_000): Promise<EmbeddedRedis> {
  mkdirSync(runDir, { recursive: true, mode: 0o700 }); // its pid file and socket: owner only (home-mode.ts)
  const socket = embeddedSocketPath(runDir);
  const pidFile = join(runDir, 'redis.pid');
  await stopLeftover(pidFile, socket);
  rmSync(socket, { force: true });
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no',
      '--maxmemory-policy', 'noeviction', '--dir', runDir, '--loglevel', 'warning', '--pidfile', pidFile],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new ForkpointError(ErrorCodes.REDIS_UNAVAILABLE, `cannot start redis-server: ${err.message}`)));
    child.once('exit', (code) =>
      reject(new ForkpointError(ErrorCodes.REDIS_UNAVAILABLE, `redis-server exited (${code}) before it was ready: ${stderr.trim().slice(0, 300)}`)),
    );
  });
  failed.catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  // redis-server opens its socket before it writes its pid file; a crash of ours in between would
  // leave a server the next start cannot find, so ready means both.
  while (!existsSync(socket) || !existsSync(pidFile)) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new ForkpointError(ErrorCodes.REDIS_UNAVAILABLE, `redis-server did not open ${socket} within ${timeoutMs} ms`);
    }
    await Promise.race([new Promise((r) => setTimeout(r, 10)), failed]);
  }
  return {
    url: `unix://${socket}`,
    socket,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(socket, { force: true });
    },
  };
}
