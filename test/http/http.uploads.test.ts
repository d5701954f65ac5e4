/**
 * A streamed upload hands an image to the service (from another host, or from
 * a user the service must not read files for): stored in the import folder,
 * hashed while received, then usable as `fromImage`; a wrong hash, a taken
 * name or a body of the wrong type keeps nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxDiskPath } from '../../src/layout.js';
import { goldenImage } from '../helpers/pipeline.js';
import { qemuCompare } from '../helpers/qemu.js';
import { call, startTestService, type TestService } from './support.js';

let s: TestService;
let image: Buffer;
let imagePath: string;
beforeAll(async () => {
  s = await startTestService({}, (dir) => ({ importDirs: [join(dir, 'import')] }));
  imagePath = goldenImage(join(s.dir, 'elsewhere.qcow2'), 0x4e);
  image = readFileSync(imagePath);
});
afterAll(async () => {
  await s?.close();
});

/** PUT the bytes in chunks (a stream, as a large image is sent). */
function put(path: string, body: Buffer, type = 'application/octet-stream'): Promise<{ status: number; body: any }> {
  const url = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: 'PUT', path, headers: { 'content-type': type } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    for (let i = 0; i < body.length; i += 65536) req.write(body.subarray(i, i + 65536));
    req.end();
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const uploads = () => join(s.dir, 'import', 'uploads');

describe('uploads', () => {
  it('stores the body in the import folder with its hash, and a box can be made from it', async () => {
    const r = await put(`/api/uploads/debian.qcow2?sha256=${sha(image)}`, image);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toEqual({ path: join(uploads(), 'debian.qcow2'), bytes: image.length, sha256: sha(image) });
    expect(readFileSync(r.body.path).equals(image)).toBe(true);
    const box = await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'up', fromImage: r.body.path } });
    expect(box.status, JSON.stringify(box.body)).toBe(200);
    expect(qemuCompare(imagePath, boxDiskPath(s.tp.layout, 'up')).status).toBe(0);
  });

  it('takes a name of 255 bytes, the longest a name may be (its partial file is not named after it)', async () => {
    const name = `${'é'.repeat(126)}xyz`; // 255 bytes of UTF-8
    const r = await put(`/api/uploads/${encodeURIComponent(name)}`, image);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(readFileSync(join(uploads(), name)).equals(image)).toBe(true);
    rmSync(join(uploads(), name));
  });

  it('refuses a taken name (409), keeping the first upload', async () => {
    const r = await put('/api/uploads/debian.qcow2', Buffer.from('something else'));
    expect([r.status, r.body.error.code]).toEqual([409, 'E_ALREADY_EXISTS']);
    expect(readFileSync(join(uploads(), 'debian.qcow2')).equals(image)).toBe(true);
  });

  it('refuses a body whose hash is not the one it was sent with (422), keeping nothing', async () => {
    const r = await put(`/api/uploads/bad.qcow2?sha256=${'0'.repeat(64)}`, image);
    expect([r.status, r.body.error.code, r.body.error.details.field]).toEqual([422, 'E_BAD_PAYLOAD', 'sha256']);
    expect(existsSync(join(uploads(), 'bad.qcow2'))).toBe(false);
    expect(readdirSync(uploads()).sort()).toEqual(['debian.qcow2']);
  });

  it('refuses to store uploads through an uploads/ that is a symlink planted in its place', async () => {
    const elsewhere = join(s.dir, 'elsewhere-folder');
    mkdirSync(elsewhere);
    renameSync(uploads(), `${uploads()}.real`);
    symlinkSync(elsewhere, uploads());
    try {
      const r = await put('/api/uploads/planted', Buffer.from('* * * * * root id\n'));
      expect([r.status, r.body.error.code]).toEqual([403, 'E_FORBIDDEN']);
      expect(readdirSync(elsewhere)).toEqual([]);
    } finally {
      rmSync(uploads());
      renameSync(`${uploads()}.real`, uploads());
    }
  });

  it('refuses a name with a path trick, and a body that is not octet-stream', async () => {
    const trick = await put('/api/uploads/..%2Fescape', image);
    expect([trick.status, trick.body.error.code]).toEqual([400, 'E_INVALID_NAME']);
    const json = await put('/api/uploads/x.qcow2', Buffer.from('{}'), 'application/json');
    expect([json.status, json.body.error.code]).toEqual([400, 'E_BAD_PAYLOAD']);
    expect(readdirSync(uploads()).sort()).toEqual(['debian.qcow2']);
  });
});

describe('uploads past the size cap', () => {
  let small: TestService;
  beforeAll(async () => {
    small = await startTestService({ maxUploadBytes: 100_000 }, (dir) => ({ importDirs: [join(dir, 'import')] }));
  });
  afterAll(async () => {
    await small?.close();
  });

  it('are refused with 413 once the body passes it, keeping nothing', async () => {
    const url = new URL(small.url);
    const r = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, method: 'PUT', path: '/api/uploads/big.img', headers: { 'content-type': 'application/octet-stream' } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(Buffer.alloc(300_000, 1));
    });
    expect([r.status, r.body.error.code]).toEqual([413, 'E_BAD_PAYLOAD']);
    expect(readdirSync(join(small.dir, 'import', 'uploads'))).toEqual([]);
  });
});
