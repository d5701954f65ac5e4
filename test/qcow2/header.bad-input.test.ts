/** Bad images give a typed error naming the file and change nothing on disk. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, type ErrorCode } from '../../src/errors.js';
import { readHeader } from '../../src/qcow2/index.js';
import { qemuCreate, sha256 } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { expectImageError, patchBytes, u32, u64 } from './helpers.js';

const tmp = useTmpDirs('fp-bad-');

function freshImage(size = '1M'): string {
  const file = join(tmp(), 'img.qcow2');
  qemuCreate(file, { size });
  return file;
}

/** Break `file` with `damage`, then expect readHeader to refuse it with `code`, leaving it untouched. */
function expectRefused(file: string, code: ErrorCode, damage?: () => void): Error {
  damage?.();
  const before = sha256(file);
  const err = expectImageError(() => readHeader(file), code, file);
  expect(sha256(file)).toBe(before);
  return err;
}

describe('readHeader refuses bad input', () => {
  it('a file without the magic', () => {
    const file = join(tmp(), 'plain.txt');
    writeFileSync(file, 'hello world, not an image at all'.repeat(10));
    expectRefused(file, ErrorCodes.NOT_QCOW2);
  });

  it('an empty file', () => {
    const file = join(tmp(), 'empty.qcow2');
    writeFileSync(file, '');
    expectRefused(file, ErrorCodes.NOT_QCOW2);
  });

  it('a header cut short', () => {
    const file = freshImage();
    expectRefused(file, ErrorCodes.QCOW2_TRUNCATED, () => truncateSync(file, 50));
  });

  it('an image whose tables were cut off (L1 beyond end of file)', () => {
    const file = freshImage();
    const err = expectRefused(file, ErrorCodes.QCOW2_TRUNCATED, () => truncateSync(file, 4096));
    expect(err.message).toMatch(/l1_table_offset|refcount_table_offset/);
  });

  it('cluster_bits out of range names the field', () => {
    const file = freshImage();
    const err = expectRefused(file, ErrorCodes.QCOW2_CORRUPT, () => patchBytes(file, 20, u32(40)));
    expect(err.message).toContain('cluster_bits = 40 out of range 9..21');
  });

  it('an unknown version', () => {
    const file = freshImage();
    expectRefused(file, ErrorCodes.QCOW2_UNSUPPORTED, () => patchBytes(file, 4, u32(7)));
  });

  it('a backing name offset pointing past the end of the file', () => {
    const file = freshImage();
    const err = expectRefused(file, ErrorCodes.QCOW2_CORRUPT, () => {
      patchBytes(file, 8, u64(10_000_000));
      patchBytes(file, 16, u32(10));
    });
    expect(err.message).toContain('backing');
  });

  it('an absurdly long backing name (qemu limit 1023)', () => {
    const file = freshImage();
    const err = expectRefused(file, ErrorCodes.QCOW2_CORRUPT, () => {
      patchBytes(file, 8, u64(512));
      patchBytes(file, 16, u32(60_000));
    });
    expect(err.message).toContain('backing_file_size = 60000');
  });

  it('unknown incompatible feature bits', () => {
    const file = freshImage();
    const err = expectRefused(file, ErrorCodes.QCOW2_UNSUPPORTED, () => patchBytes(file, 72, u64(1n << 40n)));
    expect(err.message).toContain('incompatible_features');
  });

  it('the corrupt bit', () => {
    const file = freshImage();
    expectRefused(file, ErrorCodes.QCOW2_CORRUPT, () => patchBytes(file, 72, u64(2)));
  });

  // LUKS creation needs a PBKDF benchmark that fails in some sandboxes; legacy AES is the same header field.
  it('an encrypted image (qemu AES encryption)', () => {
    const file = join(tmp(), 'enc.qcow2');
    execFileSync('qemu-img', ['create', '-q', '--object', 'secret,id=sec0,data=abc123', '-f', 'qcow2', '-o', 'encrypt.format=aes,encrypt.key-secret=sec0', file, '1M']);
    const err = expectRefused(file, ErrorCodes.QCOW2_UNSUPPORTED);
    expect(err.message).toContain('crypt_method');
  });

  it('an external data file', () => {
    const dir = tmp();
    const file = join(dir, 'ext.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${join(dir, 'data.raw')}`, file, '1M']);
    const err = expectRefused(file, ErrorCodes.QCOW2_UNSUPPORTED);
    expect(err.message).toContain('external data file');
  });

  it('a folder given as image', () => {
    const dir = join(tmp(), 'folder.qcow2');
    mkdirSync(dir);
    expectImageError(() => readHeader(dir), ErrorCodes.NOT_A_FILE, dir);
  });

  it('a missing file', () => {
    const file = join(tmp(), 'missing.qcow2');
    expectImageError(() => readHeader(file), ErrorCodes.NOT_FOUND, file);
  });
});
