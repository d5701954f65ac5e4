/**
 * The rule that picks a batch's flush: dirtyPageBytes reads Dirty + Writeback
 * from /proc/meminfo (null when either line is missing), and
 * childrenFlushModeStep takes one syncfs only up to SYNCFS_MAX_DIRTY_BYTES,
 * unless FORKPOINT_CHILDREN_FLUSH fixes the choice. syncFilesystem flushes a
 * real folder and names a path it cannot flush.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { childrenFlushModeStep, SYNCFS_MAX_DIRTY_BYTES } from '../../src/file-steps/steps.js';
import { dirtyPageBytes, syncFilesystem } from '../../src/qcow2/sync-filesystem.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-syncfs-');
const meminfo = (dirty: string, writeback: string) => `MemTotal:       24000000 kB\nDirty:          ${dirty} kB\nWriteback:      ${writeback} kB\nAnonPages:  1 kB\n`;

describe('dirtyPageBytes', () => {
  it.each([
    { what: 'both counted', text: meminfo('1024', '512'), bytes: 1536 * 1024 },
    { what: 'none dirty', text: meminfo('0', '0'), bytes: 0 },
    { what: 'no Writeback line', text: 'Dirty:  8 kB\n', bytes: null },
    { what: 'nothing', text: '', bytes: null },
  ])('$what', ({ text, bytes }) => {
    expect(dirtyPageBytes(text)).toBe(bytes);
  });

  it('reads this machine’s page cache', () => {
    expect(dirtyPageBytes()).toEqual(expect.any(Number));
  });
});

describe('childrenFlushModeStep', () => {
  it('a fixed choice wins; otherwise the page cache decides by the threshold', () => {
    expect(childrenFlushModeStep({ FORKPOINT_CHILDREN_FLUSH: 'fsync' })).toBe('fsync');
    expect(childrenFlushModeStep({ FORKPOINT_CHILDREN_FLUSH: 'syncfs' })).toBe('syncfs');
    expect(() => childrenFlushModeStep({ FORKPOINT_CHILDREN_FLUSH: 'sync' })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT, details: { field: 'FORKPOINT_CHILDREN_FLUSH' } }));
    expect(['syncfs', 'fsync']).toContain(childrenFlushModeStep({ FORKPOINT_CHILDREN_FLUSH: 'auto' }));
    const dirty = dirtyPageBytes()!;
    const chosen = childrenFlushModeStep({});
    // Read again: the page cache moves; only a reading on the same side both times decides the test.
    if ((dirty <= SYNCFS_MAX_DIRTY_BYTES) === (dirtyPageBytes()! <= SYNCFS_MAX_DIRTY_BYTES)) {
      expect(chosen).toBe(dirty <= SYNCFS_MAX_DIRTY_BYTES ? 'syncfs' : 'fsync');
    }
  });
});

describe('syncFilesystem', () => {
  it('flushes the filesystem of a folder, and names a path it cannot flush', () => {
    expect(() => syncFilesystem(tmp())).not.toThrow();
    expect(() => syncFilesystem('/nonexistent/forkpoint')).toThrow(expect.objectContaining({ code: ErrorCodes.IO, details: { path: '/nonexistent/forkpoint' } }));
  });
});
