/**
 * Headers qemu refuses are refused here too (a child of one would be an image
 * qemu cannot open), and a hostile extension length can neither hang the
 * reader nor escape as an untyped error. Each case: typed error, file unchanged.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, type ErrorCode } from '../../src/errors.js';
import { readHeader } from '../../src/qcow2/index.js';
import { qemuCreate, sha256 } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { expectImageError, patchBytes, u32 } from './helpers.js';

const tmp = useTmpDirs('fp-qrules-');

function image(o: Parameters<typeof qemuCreate>[1] = { size: '1M' }): string {
  const file = join(tmp(), 'img.qcow2');
  qemuCreate(file, o);
  return file;
}

function expectRefused(file: string, code: ErrorCode): void {
  const before = sha256(file);
  expectImageError(() => readHeader(file), code, file);
  expect(sha256(file)).toBe(before);
}

/** Byte offsets in a v3 header. */
const INCOMPATIBLE_LOW_WORD = 76; // low 32 bits of incompatible_features (72..79)
const CLUSTER_BITS = 20;
const HEADER_LENGTH = 100;
const COMPRESSION_TYPE = 104;

describe('readHeader follows qemu’s rules', () => {
  it('an extension length of 0xFFFFFFF8 or 0x80000000 is a typed error, not a hang or a RangeError', () => {
    for (const len of [0xfffffff8, 0x80000000]) {
      const file = image();
      const first = readHeader(file).header.headerLength; // the first extension starts here
      patchBytes(file, first, Buffer.concat([u32(0x12345678), u32(len)]));
      expectRefused(file, ErrorCodes.QCOW2_CORRUPT);
    }
  });

  it('the compression-type bit must be set exactly when the type is not zlib', () => {
    const bitWithZlib = image();
    patchBytes(bitWithZlib, INCOMPATIBLE_LOW_WORD, u32(1 << 3));
    expectRefused(bitWithZlib, ErrorCodes.QCOW2_CORRUPT);

    const zstdWithoutBit = image({ size: '1M' });
    const h = readHeader(zstdWithoutBit).header;
    expect(h.headerLength).toBeGreaterThan(COMPRESSION_TYPE); // qemu writes the 112-byte header
    patchBytes(zstdWithoutBit, COMPRESSION_TYPE, Buffer.from([1]));
    expectRefused(zstdWithoutBit, ErrorCodes.QCOW2_CORRUPT);

    const shortHeaderWithBit = image();
    patchBytes(shortHeaderWithBit, HEADER_LENGTH, u32(104));
    patchBytes(shortHeaderWithBit, INCOMPATIBLE_LOW_WORD, u32(1 << 3));
    expectRefused(shortHeaderWithBit, ErrorCodes.QCOW2_CORRUPT);
  });

  it('extended L2 needs subclusters of at least 512 bytes (clusters of 16 KiB or more)', () => {
    // qemu-img will not even make one with 4 KiB clusters: take a 16 KiB one and shrink cluster_bits.
    const ok = image({ size: '1M', clusterSize: 16384, extendedL2: true });
    expect(readHeader(ok).header.clusterBits).toBe(14);
    patchBytes(ok, CLUSTER_BITS, u32(12));
    expectRefused(ok, ErrorCodes.QCOW2_UNSUPPORTED);
  });

  it('a backing-format extension of 16 bytes or more, and a bitmaps extension not of 24 bytes', () => {
    const file = image();
    const at = readHeader(file).header.headerLength;
    patchBytes(file, at, Buffer.concat([u32(0xe2792aca), u32(16), Buffer.alloc(16, 0x61), u32(0), u32(0)]));
    expectRefused(file, ErrorCodes.QCOW2_CORRUPT);

    const bitmaps = image();
    const at2 = readHeader(bitmaps).header.headerLength;
    patchBytes(bitmaps, at2, Buffer.concat([u32(0x23852875), u32(32), Buffer.alloc(32), u32(0), u32(0)]));
    expectRefused(bitmaps, ErrorCodes.QCOW2_CORRUPT);
  });

});

describe('readHeader and huge disks', () => {
  it('a virtual size past 2^53 bytes (qemu can make one) is unsupported, not corrupt', () => {
    const file = image();
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(1n << 60n);
    patchBytes(file, 24, b);
    expectRefused(file, ErrorCodes.QCOW2_UNSUPPORTED);
  });
});
