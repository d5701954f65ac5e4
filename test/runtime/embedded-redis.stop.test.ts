/**
 * stop() ends the private redis-server with a SHUTDOWN over its socket (it acts on one at once,
 * on a SIGTERM only at its next cron tick), for a server it started and for one it adopted, and
 * what was written is kept. A server that cannot answer (stopped) is still ended, by signals.
 * MONITOR does not show admin commands, so what stop() sends is seen by a listener of our own.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { shutdownBySocket, startEmbeddedRedis, type EmbeddedRedis } from '../../src/runtime/embedded-redis.js';
import { redisServersOn } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-redis-stop-');

async function setKey(socket: string, value: string): Promise<void> {
  const c = new Redis({ path: socket, maxRetriesPerRequest: 1 });
  try {
    await c.set('queued', value);
  } finally {
    c.disconnect();
  }
}

async function readKey(runDir: string): Promise<string | null> {
  const again = await startEmbeddedRedis(runDir);
  const c = new Redis({ path: again.socket, maxRetriesPerRequest: 1 });
  try {
    return await c.get('queued');
  } finally {
    c.disconnect();
    await again.stop();
  }
}

const cases: { name: string; start: (runDir: string) => Promise<EmbeddedRedis> }[] = [
  { name: 'a server it started', start: (runDir) => startEmbeddedRedis(runDir) },
  {
    name: 'a server it adopted (a crashed owner left it running)',
    start: async (runDir) => {
      await startEmbeddedRedis(runDir); // never stopped: its owner "crashed"
      const adopted = await startEmbeddedRedis(runDir);
      expect(adopted.adoptedPid).not.toBeNull();
      return adopted;
    },
  },
];

describe('embedded redis-server stop()', () => {
  for (const c of cases) {
    it(`ends ${c.name}, and keeps what was written`, async () => {
      const runDir = join(tmp(), 'run');
      const redis = await c.start(runDir);
      await setKey(redis.socket, `kept-${c.name}`);
      await redis.stop();
      expect(redisServersOn(redis.socket)).toEqual([]);
      expect(await readKey(runDir)).toBe(`kept-${c.name}`);
    });
  }

  // What the server does with the command: close the connection as it goes, or refuse it (a reply), or nothing.
  const listeners: { name: string; onCommand: (conn: Socket) => void; how: string }[] = [
    { name: 'closes the connection', onCommand: (conn) => conn.end(), how: 'going' },
    { name: 'answers', onCommand: (conn) => conn.write('-ERR Errors trying to SHUTDOWN. Check logs.\r\n'), how: 'refused' },
    { name: 'says nothing within the bound', onCommand: () => undefined, how: 'silent' },
  ];
  for (const l of listeners) {
    it(`shutdownBySocket sends SHUTDOWN; a server that ${l.name}: ${l.how}`, async () => {
      const socket = join(tmp(), 's.sock');
      let received = '';
      const server = createServer((conn) => {
        conn.on('data', (d) => {
          received += d.toString();
          if (received.endsWith('\r\n')) l.onCommand(conn);
        });
        conn.on('error', () => undefined);
      });
      await new Promise<void>((r) => server.listen(socket, r));
      try {
        expect(await shutdownBySocket(socket, 300)).toBe(l.how);
        expect(received).toBe('SHUTDOWN\r\n');
      } finally {
        await new Promise((r) => server.close(r));
      }
    });
  }

  it('shutdownBySocket with nothing listening on the socket: refused', async () => {
    expect(await shutdownBySocket(join(tmp(), 'none.sock'), 300)).toBe('refused');
  });

  it('ends a server that cannot answer (SIGSTOP): the SHUTDOWN goes unanswered, the signals end it', async () => {
    const runDir = join(tmp(), 'run');
    const redis = await startEmbeddedRedis(runDir);
    const pid = Number(readFileSync(join(runDir, 'redis.pid'), 'utf8'));
    process.kill(pid, 'SIGSTOP');
    await redis.stop();
    expect(redisServersOn(redis.socket)).toEqual([]);
  }, 30_000);
});
