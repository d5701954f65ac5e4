/**
 * A private redis-server for one home, on a unix socket under the home (no
 * port to collide with, unreachable from the network). It keeps its data in
 * the home (`<home>/run/redis/`, AOF, fsync once a second): the SQLite journal
 * stays the truth, the AOF only keeps the queued jobs (a cut-off batch, its
 * waiting caller's job id) across a crash of the owner or of the server.
 *
 * A server a crashed owner left running on the home's socket is adopted, not
 * stopped: it holds the queue as it was, so BullMQ's stalled-job check hands
 * the cut-off job to the next owner. One that no longer answers is stopped
 * and a new one started on the same data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createConnection } from 'node:net';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import { ErrorCodes, ForkpointError } from '../errors.js';

/** Linux limits a unix socket path to 107 bytes; deep homes get a socket in the temp folder. */
const MAX_SOCKET_PATH = 100;

/**
 * The AOF fsync policy. `everysec`: an acknowledged write reaches the file at once (a crash of
 * the owner or of redis-server loses nothing), and the disk within a second (a power cut may lose
 * the last second of queue changes, which a rerun of the same request makes good: README).
 * `always` would add an fsync to every event-loop turn that writes, for jobs the journal already
 * makes safe to repeat.
 */
export const EMBEDDED_APPENDFSYNC = 'everysec';

export interface EmbeddedRedis {
  url: string;
  socket: string;
  /** Its data folder (AOF); null for an adopted server that keeps nothing on disk (started by an older forkpoint). */
  dataDir: string | null;
  /** A server a previous owner left running, taken over as it was (its pid). */
  adoptedPid: number | null;
  /** Its pid (ours or adopted). */
  pid: number;
  /** Called once if the server ends other than by stop() (killed, crashed): how it ended. Its owner restarts it (producers/service.ts). */
  onExit(listener: (how: string) => void): void;
  stop(): Promise<void>;
}
/**
 * Whether `redis-server` is an executable on PATH. Looked up, not run: running `--version` blocked
 * every CLI start-up that needed a private server for ~20 ms (measured), and starting it reports
 * any other reason it cannot run.
 */
export function redisServerAvailable(): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    if (dir === '') return false;
    try {
      accessSync(join(dir, 'redis-server'), constants.X_OK);
      return statSync(join(dir, 'redis-server')).isFile();
    } catch {
      return false;
    }
  });
}

export function embeddedSocketPath(runDir: string): string {
  const inHome = join(runDir, 'redis.sock');
  if (inHome.length <= MAX_SOCKET_PATH) return inHome;
  const hash = createHash('sha256').update(runDir).digest('hex').slice(0, 16);
  return join(tmpdir(), `forkpoint-${hash}.sock`);
}

/** The data folder of a home's private redis-server: `<run>/redis/` (0700, like run/). */
export const embeddedDataDir = (runDir: string): string => join(runDir, 'redis');

/** pids of the redis-servers whose command line names `socket` (ours: only we start one there). */
function serversOn(socket: string): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids; // no /proc here: nothing we can check, so nothing we touch
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      // redis-server rewrites its title to `redis-server unixsocket:<socket>`; as started, the socket is an argument.
      const words = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split(/[\0 ]+/);
      if (words[0]?.includes('redis-server') && (words.includes(socket) || words.includes(`unixsocket:${socket}`))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');

/**
 * Ask the server on `socket` to SHUTDOWN (it fsyncs its AOF and exits, as on SIGTERM). It acts on
 * the command at once, but on a SIGTERM only at its next cron tick (hz 10): 100-110 ms against
 * 8-14 ms here, at the end of every command that started a private server. 'going': the server
 * closed the connection; 'refused': it answered (or could not be reached), 'silent': no word
 * within `ms`. Only 'going' is worth waiting for; the caller signals otherwise.
 */
export function shutdownBySocket(socket: string, ms: number): Promise<'going' | 'refused' | 'silent'> {
  return new Promise((resolve) => {
    const conn = createConnection(socket);
    const done = (how: 'going' | 'refused' | 'silent') => () => {
      conn.destroy();
      resolve(how);
    };
    conn.setTimeout(ms, done('silent'));
    conn.once('error', done('refused'));
    conn.once('data', done('refused'));
    conn.once('close', done('going')); // after 'error' or 'data', resolve() has been called already
    conn.write('SHUTDOWN\r\n');
  });
}

/** Whether `p` settles within `ms`. */
const settlesWithin = (p: Promise<unknown>, ms: number): Promise<boolean> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([p.then(() => true), late]).finally(() => clearTimeout(timer));
};

/** SIGTERM (redis-server then writes and fsyncs its AOF), SIGKILL if it is still there after `ms`. */
async function stopPid(pid: number, ms = 10_000): Promise<void> {
  const gone = () => {
    try {
      return !alive(pid);
    } catch {
      return true;
    }
  };
  try {
    process.kill(pid, 'SIGTERM');
    process.kill(pid, 'SIGCONT'); // a stopped server (SIGSTOP, a debugger) acts on the SIGTERM only once it runs
  } catch {
    return;
  }
  const deadline = Date.now() + ms;
  while (!gone() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (!gone()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
    for (let i = 0; i < 100 && !gone(); i++) await new Promise((r) => setTimeout(r, 20));
  }
}

/** The server answering on `socket`: its pid and whether it keeps an AOF; null when nothing answers. */
async function probe(socket: string): Promise<{ pid: number; aof: boolean } | null> {
  if (!existsSync(socket)) return null;
  // No ready check: ioredis's would find a server still loading its AOF and wait a whole second
  // (its loading_eta, at least 1 s) before trying again, and every command starting a server
  // paid that in about one start of four. The PING below is refused (LOADING) instead, and the
  // caller looks again 10 ms later.
  const client = new Redis({ path: socket, lazyConnect: true, enableReadyCheck: false, connectTimeout: 1500, commandTimeout: 1500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping(); // refused (LOADING) until the AOF is read back
    const info = await client.info('server');
    const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
    const aof = ((await client.call('CONFIG', 'GET', 'appendonly')) as string[])[1] === 'yes';
    return Number.isInteger(pid) && pid > 1 ? { pid, aof } : null;
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}

/**
 * The home's redis-server: the one a crashed owner left running on the home's socket (we only
 * start one while holding the home lock, so whatever runs there is orphaned), adopted as it is;
 * else a new one on the home's data (what the last one wrote to its AOF). Servers on our socket
 * that no longer answer are stopped first: two servers must never share the data folder.
 */
export async function startEmbeddedRedis(runDir: string, timeoutMs = 10_000): Promise<EmbeddedRedis> {
  mkdirSync(runDir, { recursive: true, mode: 0o700 }); // its pid file and socket: owner only (home-mode.ts)
  const dataDir = embeddedDataDir(runDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const socket = embeddedSocketPath(runDir);
  const pidFile = join(runDir, 'redis.pid');
  const url = `unix://${socket}`;

  const leftover = await probe(socket);
  if (leftover && serversOn(socket).includes(leftover.pid)) {
    for (const pid of serversOn(socket)) if (pid !== leftover.pid) await stopPid(pid);
    writeFileSync(pidFile, `${leftover.pid}\n`, { mode: 0o600 });
    // Not our child: no exit event, so look for it now and then (cheap: one /proc read).
    let stopped = false;
    const listeners: ((how: string) => void)[] = [];
    const watch = setInterval(() => {
      if (stopped || alive(leftover.pid)) return;
      clearInterval(watch);
      for (const l of listeners.splice(0)) l(`the adopted redis-server (pid ${leftover.pid}) is gone`);
    }, 500);
    watch.unref();
    return {
      url,
      socket,
      dataDir: leftover.aof ? dataDir : null,
      adoptedPid: leftover.pid,
      pid: leftover.pid,
      onExit: (l) => void listeners.push(l),
      stop: async () => {
        stopped = true;
        clearInterval(watch);
        await shutdownBySocket(socket, 2_000);
        await stopPid(leftover.pid); // not our child: its exit is seen in /proc (at once if it is gone already)
        rmSync(socket, { force: true });
      },
    };
  }
  for (const pid of serversOn(socket)) await stopPid(pid);
  rmSync(pidFile, { force: true });
  rmSync(socket, { force: true });
  // Through sh for a umask of its own (077): the server's AOF, pid file and folders are then private
  // like everything in a home (invariant 7), whatever umask this process has. exec keeps the pid.
  const child: ChildProcess = spawn(
    'sh',
    ['-c', 'umask 077 && exec redis-server "$@"', 'redis-server',
      '--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'yes', '--appendfsync', EMBEDDED_APPENDFSYNC,
      '--maxmemory-policy', 'noeviction', '--dir', dataDir, '--loglevel', 'warning', '--pidfile', pidFile],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let stopped = false;
  const listeners: ((how: string) => void)[] = [];
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  child.once('exit', (code, signal) => {
    if (stopped) return;
    const last = stderr.trim().split('\n').pop()?.slice(0, 300);
    for (const l of listeners.splice(0)) l(`the private redis-server (pid ${child.pid}) exited (${signal ?? `code ${code}`})${last ? `: ${last}` : ''}`);
  });
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new ForkpointError(ErrorCodes.REDIS_UNAVAILABLE, `cannot start redis-server: ${err.message}`)));
    child.once('exit', (code) =>
      reject(new ForkpointError(ErrorCodes.REDIS_UNAVAILABLE, `redis-server exited (${code}) before it was ready: ${stderr.trim().slice(0, 300)}`)),
    );
  });
  failed.catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  // redis-server opens its socket before it writes its pid file; a crash of ours in between would
  // leave a server the next start cannot find by its pid file (it is found by its command line).
  // Ready also means its AOF is loaded: it answers PING only then.
  while (!existsSync(socket) || !existsSync(pidFile) || (await probe(socket)) === null) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new ForkpointError(ErrorCodes.REDIS_UNAVAILABLE, `redis-server did not open ${socket} within ${timeoutMs} ms`);
    }
    await Promise.race([new Promise((r) => setTimeout(r, 10)), failed]);
  }
  return {
    url,
    socket,
    dataDir,
    adoptedPid: null,
    pid: child.pid!,
    onExit: (l) => void listeners.push(l),
    async stop() {
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        const how = await shutdownBySocket(socket, 2_000);
        // Bounded: a server that does not go (stuck, or it refused) gets a SIGTERM, then a SIGKILL; never waited on for ever.
        if (how !== 'going' || !(await settlesWithin(exited, 2_000))) await stopPid(child.pid!, 5_000);
        await exited;
      }
      rmSync(socket, { force: true });
    },
  };
}
