/**
 * Uploads: how a caller on another host, or a user the service must not read
 * files for, hands an image over (invariant 7). The body is the image itself,
 * streamed to disk (never held in memory), bounded in size and hashed while
 * it is received; it lands in the first import folder, where `fromImage` and
 * a rootfs `image` may then name it.
 *   PUT /api/uploads/:name?sha256=HEX   body: the image (application/octet-stream)
 *     → 201 { path, bytes, sha256 }; 200, the same, when the name already holds exactly these
 *       bytes (a retried upload); 409 if it holds other bytes (an upload is never replaced or
 *       written over); 413 past the cap; 422 if ?sha256 does not match (nothing is kept)
 * Stored 0600, owned by the service. Trust model: the API has no per-caller identity (one token,
 * or none on loopback), so every caller may name every upload, as it may use every box; an upload
 * is private from other local users (0700 folder, 0600 file), not from other callers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants, createWriteStream, linkSync, lstatSync, mkdirSync, openSync, realpathSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { uploadNameField } from '../../../contract/fields.js';
import { ErrorCodes, ForkpointError, fromFsError } from '../../../errors.js';
import type { HttpContext } from '../context.js';
import { withHttpStatus } from '../errors.js';

/** 64 TiB, the largest disk a box may have (MAX_DISK_BYTES): an image is never larger than its disk. */
export const DEFAULT_MAX_UPLOAD_BYTES = 64 * 2 ** 40;

const nameParams = z.object({ name: uploadNameField });
const uploadQuery = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits').optional() });

export function uploadRoutes(fastify: FastifyInstance, ctx: HttpContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const maxBytes = ctx.maxUploadBytes;
  // The body stays a stream: only this route reads octet-stream, and it never buffers it.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

  const upload = {
    summary: 'hand an image over: the body (application/octet-stream) lands in the first import folder',
    params: nameParams,
    querystring: uploadQuery,
    // Documented, never parsed: the body stays a stream (the handler reads it).
    consumes: ['application/octet-stream'],
    body: z.unknown().meta({ type: 'string', format: 'binary', description: 'the image itself' }),
    response: {
      201: z.object({ path: z.string(), bytes: z.number(), sha256: z.string() }).describe('stored'),
      200: z.object({ path: z.string(), bytes: z.number(), sha256: z.string() }).describe('already stored: the name holds exactly these bytes'),
    },
  };
  app.put('/api/uploads/:name', { schema: upload }, async (request, reply) => {
    const { name } = request.params;
    const { sha256: expected } = request.query;
    if (request.headers['content-type'] !== 'application/octet-stream') {
      throw new ForkpointError(ErrorCodes.BAD_PAYLOAD, 'an upload body must be the image itself, sent as application/octet-stream', { field: '(body)', in: 'body' });
    }
    const folder = uploadsFolder(ctx.pipeline.importDirs?.[0] ?? ctx.layout.importDir);
    const dest = join(folder, name);
    // Unique per request: two uploads of one name at once must not share (or remove) a partial file.
    // Not named after the upload: a 255-byte name plus a suffix is past the filesystem's name limit.
    // A leading dot: no upload name can be one (names.ts), so a partial file never takes a name.
    const partial = join(folder, `.upload-${process.pid}-${randomBytes(6).toString('hex')}.part`);
    const hash = createHash('sha256');
    let bytes = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, next) {
        bytes += chunk.length;
        if (bytes > maxBytes) return next(withHttpStatus(new ForkpointError(ErrorCodes.BAD_PAYLOAD, `upload ${name} is larger than ${maxBytes} bytes`, { field: '(body)', in: 'body' }), 413));
        hash.update(chunk);
        next(null, chunk);
      },
    });
    // Opened here, not by the stream: a file the stream opened later could outlive the clean-up below.
    const out = createWriteStream('', { fd: openSync(partial, 'wx', 0o600) });
    try {
      await pipeline(request.body as Readable, count, out);
      const sha256 = hash.digest('hex');
      if (expected !== undefined && expected !== sha256) {
        throw withHttpStatus(new ForkpointError(ErrorCodes.BAD_PAYLOAD, `upload ${name}: sha256 is ${sha256}, not the ${expected} it was sent with`, { field: 'sha256', in: 'query' }), 422);
      }
      try {
        renameNoReplace(partial, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          if ((await storedSha256(dest)) === sha256) return reply.code(200).send({ path: dest, bytes, sha256 });
          throw new ForkpointError(ErrorCodes.ALREADY_EXISTS, `upload ${name} already exists in ${folder}`, { field: 'name', id: name });
        }
        throw fromFsError(err, dest, 'cannot store upload');
      }
      return reply.code(201).send({ path: dest, bytes, sha256 });
    } catch (err) {
      // The rest of a refused body may still be on its way: end the connection with the answer.
      void reply.header('connection', 'close');
      throw err;
    } finally {
      out.destroy(); // closes the file if the stream was cut off
      rmSync(partial, { force: true });
    }
  });
}

/**
 * `<import folder>/uploads`, made if missing, and refused unless it is a real folder of ours right
 * there: through a symlink planted in its place, a root service would write an upload anywhere.
 */
function uploadsFolder(importDir: string): string {
  mkdirSync(importDir, { recursive: true, mode: 0o700 });
  const folder = join(realpathSync.native(importDir), 'uploads');
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const st = lstatSync(folder);
  if (!st.isDirectory() || st.uid !== process.getuid?.() || realpathSync.native(folder) !== folder) {
    throw new ForkpointError(ErrorCodes.FORBIDDEN, `${folder} is not a folder this service made (a symlink, or another user's): refusing to store uploads there`, { path: folder });
  }
  return folder;
}

/**
 * The sha256 of an upload already stored (a regular file of this folder), read through one fd and
 * streamed (never blocking the loop on a large file); null if it is anything else.
 */
async function storedSha256(path: string): Promise<string | null> {
  let file: FileHandle;
  try {
    file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    if (!(await file.stat()).isFile()) return null;
    const hash = createHash('sha256');
    for await (const chunk of file.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } finally {
    await file.close();
  }
}

/** Move `from` to `to` unless `to` exists (a hard link, then the old name goes). */
function renameNoReplace(from: string, to: string): void {
  linkSync(from, to);
  rmSync(from, { force: true });
}
