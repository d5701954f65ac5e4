/**
 * Upload names cannot be squatted over: an upload is stored 0600, owned by the
 * service, in its 0700 uploads folder; a name that holds bytes is never written
 * over or replaced (409, the first bytes kept), the same bytes again are the
 * same upload (200, a retry); two uploads of one name at once do not share a
 * partial file: one is stored whole, the other is refused, nothing is left.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/pipeline.js';
import { startTestService, type TestService } from './support.js';

let s: TestService;
beforeAll(async () => {
  s = await startTestService({}, (dir) => ({ importDirs: [join(dir, 'import')] }));
});
afterAll(async () => {
  await s?.close();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const uploads = () => join(s.dir, 'import', 'uploads');
const body = (byte: number, size = 1 << 20) => Buffer.alloc(size, byte);
/** The partial files of uploads under way (routes/uploads.ts names them). */
const partials = () => readdirSync(uploads()).filter((f) => f.startsWith('.upload-') && f.endsWith('.part'));

/** Start a PUT: the caller writes the body and ends it; `reply` settles with the answer. */
function begin(name: string): { req: ClientRequest; reply: Promise<{ status: number; body: any }> } {
  const url = new URL(s.url);
  let req!: ClientRequest;
  const reply = new Promise<{ status: number; body: any }>((resolve, reject) => {
    req = httpRequest({ host: url.hostname, port: url.port, method: 'PUT', path: `/api/uploads/${name}`, headers: { 'content-type': 'application/octet-stream' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
  });
  return { req, reply };
}

async function put(name: string, bytes: Buffer): Promise<{ status: number; body: any }> {
  const { req, reply } = begin(name);
  req.end(bytes);
  return reply;
}

describe('upload names', () => {
  it('stores an upload private to the service, and never writes over it', async () => {
    const first = body(0x11);
    const r = await put('shared.img', first);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const path = join(uploads(), 'shared.img');
    const st = statSync(path);
    expect([st.mode & 0o777, st.uid]).toEqual([0o600, process.getuid!()]);
    expect(statSync(uploads()).mode & 0o777).toBe(0o700);

    const again = await put('shared.img', first); // a retry: the same bytes
    expect([again.status, again.body]).toEqual([200, { path, bytes: first.length, sha256: sha(first) }]);

    const other = await put('shared.img', body(0x22));
    expect([other.status, other.body.error?.code]).toEqual([409, 'E_ALREADY_EXISTS']);
    expect(statSync(path).ino).toBe(st.ino);
    expect(sha(readFileSync(path))).toBe(sha(first));
  });

  it('two uploads of one name at once: one is stored whole, the other refused, no partial file left', async () => {
    const a = body(0xaa, 4 << 20);
    const b = body(0xbb, 4 << 20);
    const ua = begin('race.img');
    const ub = begin('race.img');
    ua.req.write(a.subarray(0, 65536));
    ub.req.write(b.subarray(0, 65536));
    const settled: string[] = [];
    void ua.reply.then(() => settled.push('a'));
    void ub.reply.then(() => settled.push('b'));
    // Both handlers are receiving (each has its partial file open), or one has already answered.
    await waitFor('both uploads under way', () => settled.length > 0 || partials().length === 2);
    ua.req.end(a.subarray(65536));
    ub.req.end(b.subarray(65536));
    const [ra, rb] = await Promise.all([ua.reply, ub.reply]);
    expect([ra.status, rb.status].sort(), JSON.stringify([ra.body, rb.body])).toEqual([201, 409]);
    const won = ra.status === 201 ? a : b;
    expect(sha(readFileSync(join(uploads(), 'race.img')))).toBe(sha(won));
    expect(readdirSync(uploads()).filter((f) => f.startsWith('race.img'))).toEqual(['race.img']);
    expect(partials()).toEqual([]);
  });
});
