/**
 * A real service for HTTP tests: a pipeline on a temp home with the test
 * run's Redis, and the HTTP server on a free loopback port. Plus a raw HTTP
 * client (node:http sends a path as written: `..` and `%2F` reach the server,
 * where fetch would normalise them away) and a before/after picture of a home.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { homeLayout } from '../../src/layout.js';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { startHttpServer, type HttpServer, type HttpServerOptions } from '../../src/producers/http/server.js';
import { startTestPipeline, TEST_PREFIX, type TestPipeline } from '../helpers/pipeline.js';
import type { PipelineOptions } from '../../src/workers/pipeline.js';

export interface TestService {
  dir: string;
  url: string;
  tp: TestPipeline;
  http: HttpServer;
  close(): Promise<void>;
}

/** `pipeline(dir)` gives options for the pipeline (e.g. import folders beside the home in `dir`). */
export async function startTestService(o: Partial<HttpServerOptions> = {}, pipeline: (dir: string) => Partial<PipelineOptions> = () => ({})): Promise<TestService> {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'forkpoint-http-')));
  const tp = await startTestPipeline(dir, pipeline(dir));
  let http: HttpServer;
  try {
    http = await startHttpServer({
      layout: tp.layout,
      homeId: tp.homeId,
      redisUrl: tp.redisUrl,
      prefix: TEST_PREFIX,
      pipeline: tp.pipeline,
      log: pino({ level: process.env.FORKPOINT_TEST_LOG ?? 'silent' }),
      host: '127.0.0.1',
      port: 0,
      ...o,
    });
  } catch (err) {
    await tp.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    url: http.url,
    tp,
    http,
    async close() {
      await http.close();
      await tp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

/** One request, path sent verbatim; JSON bodies in and out. */
export function call<T = any>(base: string, method: string, path: string, o: { body?: unknown; rawBody?: string; headers?: Record<string, string> } = {}): Promise<Reply<T>> {
  const url = new URL(base);
  const payload = o.rawBody ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname.replace(/^\[(.*)\]$/, '$1'), // an IPv6 address without its URL brackets
        port: url.port,
        method,
        path,
        headers: { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          if (String(res.headers['content-type'] ?? '').includes('json')) body = JSON.parse(text);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body as T, text });
        });
      },
    );
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export interface SseEvent {
  event: string;
  data: any;
}

/** Read a server-sent-event stream until the server ends it; returns every event. */
export function readSse(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; events: SseEvent[] }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      let buffer = '';
      const events: SseEvent[] = [];
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split('\n').filter((l) => !l.startsWith(':'));
          const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
          const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
          if (event) events.push({ event, data: data === undefined ? null : JSON.parse(data) });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, events }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Everything a request could change in a home: every file under it (path,
 * size, mode, content hash for small files) and every row of every DB table.
 */
export function homePicture(home: string): { files: string[]; rows: Record<string, unknown[]> } {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = statSync(path);
      const rel = relative(home, path);
      // The DB is compared by its rows (its WAL moves on reads); run/ holds the lock and sockets.
      if (rel === 'db' || rel === 'run') continue;
      if (st.isDirectory()) {
        files.push(`${rel}/`);
        walk(path);
      } else {
        const hash = st.size < 4 << 20 ? createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16) : `${st.mtimeMs}`;
        files.push(`${rel} ${st.size} ${(st.mode & 0o777).toString(8)} ${hash}`);
      }
    }
  };
  walk(home);
  const rows: Record<string, unknown[]> = {};
  const { dbPath } = homeLayout(home);
  if (existsSync(dbPath)) {
    const db = new Database(dbPath, { readonly: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
      // Some tables are WITHOUT ROWID: sort in JS for a stable order.
      for (const { name } of tables) rows[name] = db.prepare(`SELECT * FROM "${name}"`).all().map((r) => JSON.stringify(r)).sort();
    } finally {
      db.close();
    }
  }
  return { files, rows };
}

/** Wait for a condition a running pipeline will make true (GC settling, a box appearing). */
export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
