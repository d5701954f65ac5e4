import { describe, expect, it } from 'vitest';
import { formatBytes, parseSize } from '../../src/producers/cli/units.js';

describe('sizes as people type them', () => {
  it('parses plain bytes and K/M/G/T suffixes (binary), with or without B/iB', () => {
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('10G')).toBe(10 * 2 ** 30);
    expect(parseSize('512m')).toBe(512 * 2 ** 20);
    expect(parseSize('1.5KiB')).toBe(1536);
    expect(parseSize('4608')).toBe(4608);
    expect(parseSize(' 2TB ')).toBe(2 * 2 ** 40);
  });

  it('rounds up to whole 512-byte sectors, as qemu-img create does', () => {
    expect([parseSize('10'), parseSize('512'), parseSize('513'), parseSize('1.1K')]).toEqual([512, 512, 1024, 1536]);
  });

  it('refuses what is not a positive size, naming the field', () => {
    for (const bad of ['', '0', '-1G', '10X', 'G', '1e3', '0.1']) {
      expect(() => parseSize(bad), bad).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT', details: { field: 'size' } }));
    }
  });

  it('prints bytes in binary units', () => {
    expect([formatBytes(0), formatBytes(1023), formatBytes(1536), formatBytes(10 * 2 ** 30)]).toEqual(['0 B', '1023 B', '1.5 KiB', '10 GiB']);
  });
});
