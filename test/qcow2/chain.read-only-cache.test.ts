/**
 * The chain walk caches the headers of read-only layers (our immutable bases),
 * so a fork does not read the same bases again and again. A base that is
 * changed anyway (made writable, rewritten, made read-only again; or replaced
 * by another file of the same name) must be read again, never answered from
 * the cache: the walk must see what qemu would see.
 */
import { chmodSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { readBackingChain } from '../../src/qcow2/index.js';
import { qemuCreate } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { expectImageError, patchBytes, u32 } from './helpers.js';

const tmp = useTmpDirs('fp-chain-cache-');

function chain(dir: string): { base: string; mid: string; top: string } {
  const base = join(dir, 'base.qcow2');
  const mid = join(dir, 'mid.qcow2');
  const top = join(dir, 'top.qcow2');
  qemuCreate(base, { size: '8M' });
  qemuCreate(mid, { size: '8M', backing: base });
  qemuCreate(top, { size: '8M', backing: mid });
  chmodSync(base, 0o400);
  chmodSync(mid, 0o400);
  return { base, mid, top };
}

describe('chain walk: cached headers of read-only layers', () => {
  it('a read-only layer rewritten in place (corrupt cluster_bits) is read again and refused', () => {
    const { mid, top } = chain(tmp());
    expect(readBackingChain(top).map((l) => l.path)).toHaveLength(2); // cached now
    chmodSync(mid, 0o600);
    patchBytes(mid, 20, u32(40));
    chmodSync(mid, 0o400);
    expectImageError(() => readBackingChain(top), ErrorCodes.QCOW2_CORRUPT, mid);
  });

  it('a read-only layer replaced by another file under its name is read again (its own backing file)', () => {
    const dir = tmp();
    const { mid, top } = chain(dir);
    expect(readBackingChain(top).map((l) => l.path)).toEqual([mid, join(dir, 'base.qcow2')]);
    const standalone = join(dir, 'standalone.qcow2');
    qemuCreate(standalone, { size: '8M' });
    chmodSync(standalone, 0o400);
    renameSync(standalone, mid);
    expect(readBackingChain(top).map((l) => l.path)).toEqual([mid]);
  });
});
