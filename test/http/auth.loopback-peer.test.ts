/**
 * On loopback without a token the service answers only to its own user and root: the callers
 * who could use its home through the CLI anyway (the home and its Redis socket are theirs
 * alone). Another local user is told by the owner of its socket (/proc/net/tcp{,6}) and refused
 * with 403 before any route runs; with the token it is let in, as a remote caller is. The other
 * user is `nobody`, through setpriv (the tests run as root, so the service's own user is root
 * here; the rule for a service of another user is the table at the end).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalIp, peerUidIn, procAddress, readTcpTables, tcpPeerUid } from '../../src/runtime/tcp-peer.js';
import { mayCallWithoutToken } from '../../src/producers/http/auth.js';
import { useCleanup, waitFor } from '../helpers/pipeline.js';
import { call, startTestService, type TestService } from './support.js';

const NOBODY = 65534;
/** setpriv's arguments for `node -e SCRIPT …` run as nobody. */
const NODE_AS_NOBODY = ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', process.execPath, '-e'];
const { defer } = useCleanup();

/** One HTTP request made by `nobody` (in a child, asynchronously: the service answers from this process): its status and JSON body. */
async function requestAsNobody(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<{ status: number; body: any }> {
  const script = `fetch(process.argv[1], { method: process.argv[2], headers: JSON.parse(process.argv[3]), body: process.argv[4] || undefined })
  .then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.json() })), (e) => { console.error(e); process.exitCode = 1; });`;
  const payload = body === undefined ? '' : JSON.stringify(body);
  const allHeaders = { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers };
  const child = spawn('setpriv', [...NODE_AS_NOBODY, script, `${url}${path}`, method, JSON.stringify(allHeaders), payload], { cwd: '/' });
  let [stdout, stderr] = ['', ''];
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`request as nobody failed (exit ${code}): ${stderr}`);
  return JSON.parse(stdout) as { status: number; body: any };
}

// Rows as the kernel prints them (x86: each 32-bit word little-endian), both ends of one connection.
const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const row = (local: string, remote: string, uid: number, inode = 27127) => `   0: ${local} ${remote} 01 00000000:00000000 00:00000000 00000000  ${uid}        0 ${inode} 1 0 100 0 0 10 0`;
const V4_SERVER = '0100007F:1CFC'; // 127.0.0.1:7420
const V4_CLIENT = '0100007F:D431'; // 127.0.0.1:54321
const V6_LOOP = '00000000000000000000000001000000';
const V6_MAPPED = '0000000000000000FFFF00000100007F';
const v4 = [HEADER, row(V4_SERVER, V4_CLIENT, 0), row(V4_CLIENT, V4_SERVER, 1001)].join('\n');
const v6 = [HEADER, row(`${V6_LOOP}:1CFC`, `${V6_LOOP}:D431`, 0), row(`${V6_LOOP}:D431`, `${V6_LOOP}:1CFC`, 1002)].join('\n');
const mapped = [HEADER, row(`${V6_MAPPED}:D431`, `${V6_MAPPED}:1CFC`, 1003)].join('\n');
const ends = (local: string, remote: string, remotePort = 54321) => ({ localAddress: local, localPort: 7420, remoteAddress: remote, remotePort });

describe('the peer of a connection, from /proc/net rows', () => {
  it.each([
    ['0100007F', true, '127.0.0.1'],
    ['7F000001', false, '127.0.0.1'],
    [V6_LOOP, true, '::1'],
    [V6_MAPPED, true, '127.0.0.1'],
    ['000080FE00000000FF005450D58B4CFE', true, 'fe80::5054:ff:fe4c:8bd5'],
    ['0100007', true, null],
    ['zz00007F', true, null],
  ] as const)('address %s (little-endian %s) is %s', (hex, le, text) => {
    expect(procAddress(hex, le)).toBe(text);
  });

  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::FFFF:127.0.0.2', '127.0.0.2'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['127.0.0.1', '127.0.0.1'],
  ])('Node address %s is compared as %s', (ip, text) => {
    expect(canonicalIp(ip)).toBe(text);
  });

  it.each([
    ['the client row of an IPv4 connection', [v4], ends('127.0.0.1', '127.0.0.1'), 1001],
    ['an IPv4 peer seen by a dual-stack listener', [v4], ends('::ffff:127.0.0.1', '::ffff:127.0.0.1'), 1001],
    ['the client row of an IPv6 connection on ::1, in tcp6', [v4, v6], ends('::1', '::1'), 1002],
    ['an IPv4-mapped row in tcp6', [mapped], ends('127.0.0.1', '127.0.0.1'), 1003],
    ['no row for another remote port', [v4, v6], ends('127.0.0.1', '127.0.0.1', 54322), null],
    ['no row for another remote address', [v4], ends('127.0.0.1', '127.0.0.2'), null],
    ['a socket its process closed (inode 0: printed with uid 0, as root)', [[HEADER, row(V4_SERVER, V4_CLIENT, 0), row(V4_CLIENT, V4_SERVER, 0, 0)].join('\n')], ends('127.0.0.1', '127.0.0.1'), null],
    ['not our own end of the connection', [[HEADER, row(V4_SERVER, V4_CLIENT, 0)].join('\n')], ends('127.0.0.1', '127.0.0.1'), null],
  ] as const)('%s', (_what, tables, e, uid) => {
    expect(peerUidIn(tables, e, true)).toBe(uid);
  });

  it('finds this process as the peer of a connection it made', async () => {
    const accepted = new Promise<Socket>((resolve) => {
      const server = createServer(resolve).listen(0, '127.0.0.1', () => {
        const address = server.address() as { port: number };
        const client = spawn(process.execPath, ['-e', `require('node:net').connect(${address.port}, '127.0.0.1'); setTimeout(() => {}, 10000)`], { stdio: 'ignore' });
        defer(() => void client.kill('SIGKILL'));
      });
      defer(() => void server.close());
    });
    const socket = await accepted;
    defer(() => void socket.destroy());
    const found = tcpPeerUid({ localAddress: socket.localAddress!, localPort: socket.localPort!, remoteAddress: socket.remoteAddress!, remotePort: socket.remotePort! });
    expect(found).toEqual({ uid: process.getuid!() });
  });

  it('does not take a peer that has exited for root (the kernel shows its socket with uid 0)', { timeout: 30_000 }, async () => {
    // Another user connects, sends a byte and exits; its socket is then owned by no process.
    const accepted = new Promise<Socket>((resolve) => {
      const server = createServer(resolve).listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        const script = `const s = require('node:net').connect(${port}, '127.0.0.1', () => { s.end('x'); process.exit(0); })`;
        spawn('setpriv', [...NODE_AS_NOBODY, script], { stdio: 'ignore', cwd: '/' });
      });
      defer(() => void server.close());
    });
    const socket = await accepted;
    defer(() => void socket.destroy());
    const ends = { localAddress: socket.localAddress!, localPort: socket.localPort!, remoteAddress: socket.remoteAddress!, remotePort: socket.remotePort! };
    await new Promise<void>((resolve) => socket.once('end', resolve).resume());
    await new Promise((resolve) => setTimeout(resolve, 200)); // the client's exit, after its FIN
    // What the kernel shows of it: uid 0 (and no inode), which read alone would pass for root.
    const hexPort = ends.remotePort.toString(16).toUpperCase().padStart(4, '0');
    const rows = (readTcpTables() ?? []).flatMap((t) => t.split('\n').slice(1)).map((l) => l.trim().split(/\s+/));
    const peerRow = rows.find((f) => f[1]?.endsWith(`:${hexPort}`));
    expect(peerRow && [peerRow[7], peerRow[9]], 'the exited peer\'s row: uid, inode').toEqual(['0', '0']);
    expect(tcpPeerUid(ends)).toEqual({ uid: null });
  });
});

describe('a loopback service without a token (as root)', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('refuses another local user, names its uid, and queues nothing for it', { timeout: 30_000 }, async () => {
    const list = await requestAsNobody(s.url, 'GET', '/api/boxes');
    expect(list.status).toBe(403);
    expect(list.body.error).toMatchObject({ code: 'E_FORBIDDEN', details: { field: 'peer', uid: NOBODY } });
    expect(list.body.error.message).toContain(`uid ${NOBODY}`);
    const create = await requestAsNobody(s.url, 'POST', '/api/boxes', {}, { boxId: 'theirs', sizeBytes: 1 << 20 });
    expect(create.status).toBe(403);
    expect(await s.tp.client.pending('ops')).toBe(0);
    expect((await call(s.url, 'GET', '/api/boxes')).body.boxes).toEqual([]);
  });

  it('answers its own user (root here), and keeps /healthz open to anyone', { timeout: 30_000 }, async () => {
    expect((await call(s.url, 'GET', '/api/boxes')).status).toBe(200);
    expect((await requestAsNobody(s.url, 'GET', '/healthz')).status).toBe(200);
  });
});

describe('a caller that sends a request and exits before it is read', () => {
  it('is refused, not taken for root (its socket is then shown with uid 0)', { timeout: 30_000 }, async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => void (lines.push(String(chunk)), done()) }));
    const s = await startTestService({ log });
    defer(() => s.close());
    const { port } = new URL(s.url);
    const body = JSON.stringify({ boxId: 'blind', sizeBytes: 1 << 20 });
    const request = `POST /api/boxes HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const script = `const s = require('node:net').connect(${port}, '127.0.0.1', () => s.end(process.argv[1], () => process.exit(0)))`;
    // Synchronously: this process (the service) runs nothing until the caller has connected through
    // the kernel's backlog, sent its request and exited.
    const r = spawnSync('setpriv', [...NODE_AS_NOBODY, script, request], { cwd: '/', encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    await waitFor('the refusal in the log', () => lines.some((l) => l.includes('refusing a request from a connection whose socket no process here holds')), 10_000, 20);
    expect(await s.tp.client.pending('ops')).toBe(0);
    expect((await call(s.url, 'GET', '/api/boxes')).body.boxes).toEqual([]);
  });
});

/** One request on an open keep-alive connection (raw: no client pool picks the socket): its status and JSON body. */
function requestOn(socket: Socket, host: string, path: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString();
      const split = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, split));
      if (split === -1 || !length || text.length - split - 4 < Number(length[1])) return;
      socket.off('data', onData);
      resolve({ status: Number(text.slice(9, 12)), body: JSON.parse(text.slice(split + 4)) });
    };
    socket.on('data', onData).once('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n\r\n`);
  });
}

/**
 * Runs `during` with this process out of file descriptors: its soft RLIMIT_NOFILE lowered (by
 * prlimit, as root may) to a few above what it holds, then the rest taken by /dev/null opens.
 */
async function withoutFileDescriptors<T>(during: () => Promise<T>): Promise<T> {
  const limits = spawnSync('prlimit', ['--pid', String(process.pid), '--nofile', '--raw', '--noheadings', '--output', 'SOFT,HARD'], { encoding: 'utf8' });
  const [soft, hard] = limits.stdout.trim().split(/\s+/);
  const setSoft = (value: string) => {
    const r = spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${value}:${hard}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`prlimit: ${r.stderr}`);
  };
  setSoft(String(readdirSync('/proc/self/fd').length + 32));
  const taken: number[] = [];
  try {
    for (;;) {
      try {
        taken.push(openSync('/dev/null', 'r'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EMFILE') break;
        throw err;
      }
    }
    return await during();
  } finally {
    for (const fd of taken) closeSync(fd);
    setSoft(soft!);
  }
}

describe('a service that cannot read the socket table (out of file descriptors)', () => {
  it('refuses, naming the read error, and answers the same connection once it can read it again', { timeout: 30_000 }, async () => {
    const s = await startTestService();
    defer(() => s.close());
    const { host, port } = new URL(s.url);
    // Connected and accepted first: accepting needs a descriptor, and none will be left.
    const accepted = new Promise((resolve) => s.http.app.server.once('connection', resolve));
    const socket = connect(Number(port), '127.0.0.1');
    defer(() => void socket.destroy());
    await accepted;
    const refused = await withoutFileDescriptors(() => requestOn(socket, host, '/api/boxes'));
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'E_FORBIDDEN', details: { field: 'peer', uid: null, errno: 'EMFILE' } });
    expect(refused.body.error.message).toMatch(/^refusing a request from a caller this service cannot tell \(cannot read the socket table \/proc\/net\/tcp: EMFILE/);
    const answered = await requestOn(socket, host, '/api/boxes');
    expect(answered.status, JSON.stringify(answered.body)).toBe(200);
  });
});

describe('a second listener (fastify binds one per address `localhost` resolves to: 127.0.0.1 and ::1 on many hosts)', () => {
  it('answers its own user there too: its connections were never noted by app.server', { timeout: 30_000 }, async () => {
    const s = await startTestService();
    defer(() => s.close());
    // What fastify's second binding is: another node:http server on the same handler.
    const second = createHttpServer((req, res) => s.http.app.routing(req, res));
    await new Promise<void>((resolve) => second.listen(0, '::1', resolve));
    defer(() => void second.close());
    const { port } = second.address() as { port: number };
    const r = await call(`http://[::1]:${port}`, 'GET', '/api/boxes', { headers: { host: `localhost:${port}` } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  });
});

describe('a loopback service with a token', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ token: 'peer-test-token-0123' });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('lets another local user in with the token, and only with it', { timeout: 30_000 }, async () => {
    expect((await requestAsNobody(s.url, 'GET', '/api/boxes', { authorization: 'Bearer peer-test-token-0123' })).status).toBe(200);
    expect((await requestAsNobody(s.url, 'GET', '/api/boxes')).status).toBe(401);
  });
});

describe('who may call without a token', () => {
  it.each([
    [0, 0, true],
    [1000, 1000, true],
    [0, 1000, true],
    [1001, 1000, false],
    [NOBODY, 0, false],
    [null, 0, false],
  ] as const)('uid %s, to a service of uid %s: %s', (peer, self, may) => {
    expect(mayCallWithoutToken(peer, self)).toBe(may);
  });
});
