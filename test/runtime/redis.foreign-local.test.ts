/**
 * The default local Redis (127.0.0.1:6379, used when no Redis is named) is not taken when another
 * login user runs it: their server would hold this home's queues, its job payloads to read and
 * jobs to add that this home's pipeline would run. The command starts the home's private
 * redis-server instead and warns; a Redis named with --redis or REDIS_URL is used as asked.
 * Listeners found from /proc/net/tcp{,6}; another user through setpriv (the tests run as root).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { foreignLocalRedis, resolveRedis } from '../../src/runtime/connect-redis.js';
import type { Config } from '../../src/runtime/config.js';
import { parseRedisUrl } from '../../src/runtime/redis-url.js';
import { firstLoginUid, listenerUidsIn, tcpListenerUids } from '../../src/runtime/tcp-listener.js';
import { useCleanup, waitFor } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-foreign-redis-');
const { defer } = useCleanup();
const NOBODY = 65534;

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const row = (local: string, st: string, uid: number) => `   0: ${local} 00000000:0000 ${st} 00000000:00000000 00:00000000 00000000  ${uid}        0 1 1 0 100 0 0 10 0`;

describe('tcp listeners from /proc/net', () => {
  const cases: { what: string; tables: string[]; port: number; uids: number[] }[] = [
    { what: 'a listener on 127.0.0.1', tables: [[HEADER, row('0100007F:18EB', '0A', 1001)].join('\n')], port: 6379, uids: [1001] },
    { what: 'on any address, and on ::1 in tcp6', tables: [[HEADER, row('00000000:18EB', '0A', 0)].join('\n'), [HEADER, row('00000000000000000000000001000000:18EB', '0A', 1002)].join('\n')], port: 6379, uids: [0, 1002] },
    { what: 'a connection to the port is not a listener', tables: [[HEADER, row('0100007F:18EB', '01', 1001)].join('\n')], port: 6379, uids: [] },
    { what: 'another port', tables: [[HEADER, row('0100007F:18EC', '0A', 1001)].join('\n')], port: 6379, uids: [] },
  ];
  for (const c of cases) it(c.what, () => expect(listenerUidsIn(c.tables, c.port)).toEqual(c.uids));

  it('login users start at UID_MIN of /etc/login.defs, 1000 when it does not say', () => {
    expect(firstLoginUid('UID_MIN\t\t\t  500\nUID_MAX 60000\n')).toBe(500);
    expect(firstLoginUid('# UID_MIN 500\n')).toBe(1000);
    expect(firstLoginUid(null)).toBe(1000);
  });
});

/** A redis-server on a free loopback port, run as `uid` (setpriv); its port once it listens. */
async function redisAs(uid: number): Promise<{ port: number; child: ChildProcess }> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  // No files (no RDB, no AOF), so no folder of its own: it runs in / (which another user may read).
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const command = uid === process.getuid!() ? ['redis-server', ...args] : ['setpriv', '--reuid', String(uid), '--regid', String(uid), '--clear-groups', 'redis-server', ...args];
  const child = spawn(command[0]!, command.slice(1), { stdio: 'ignore', cwd: '/' });
  defer(() => void child.kill('SIGKILL'));
  await waitFor('redis-server to listen', () => (tcpListenerUids(port) ?? []).length > 0, 10_000, 20);
  return { port, child };
}

const configFor = (port: number, explicit: boolean, home: string): Config => ({ home, redisUrl: `redis://127.0.0.1:${port}`, redisExplicit: explicit, prefix: 'fp-test', poolSize: 1 });

describe('the default local Redis, run by another user', () => {
  it('is found as foreign; one run by this user is not', { timeout: 30_000 }, async () => {
    const theirs = await redisAs(NOBODY);
    expect(tcpListenerUids(theirs.port)).toEqual([NOBODY]);
    expect(foreignLocalRedis(parseRedisUrl(`redis://127.0.0.1:${theirs.port}`))).toBe(NOBODY);
    const ours = await redisAs(process.getuid!());
    expect(foreignLocalRedis(parseRedisUrl(`redis://127.0.0.1:${ours.port}`))).toBeNull();
    // Not a local address: not ours to judge (a remote Redis is named on purpose).
    expect(foreignLocalRedis(parseRedisUrl(`redis://10.0.0.1:${theirs.port}`))).toBeNull();
  });

  it('is not used by default: the home gets its private redis-server and a warning; named explicitly, it is used', { timeout: 60_000 }, async () => {
    const { port } = await redisAs(NOBODY);
    const home = tmp();
    const said: [string, string | undefined][] = [];
    const resolved = await resolveRedis(configFor(port, false, home), join(home, 'run'), (line, level) => void said.push([line, level]));
    defer(() => resolved.embedded?.stop());
    expect(resolved.embedded).not.toBeNull();
    expect(resolved.url).toBe(`unix://${join(home, 'run', 'redis.sock')}`);
    expect(said[0]).toEqual([`the Redis at redis://127.0.0.1:${port} runs as uid ${NOBODY}, another user, and would hold this home's queues: not used unless asked for (--redis or REDIS_URL)`, 'warn']);

    const asked = await resolveRedis(configFor(port, true, home), join(home, 'run'), () => undefined);
    expect([asked.embedded, asked.url]).toEqual([null, `redis://127.0.0.1:${port}`]);
  });
});
