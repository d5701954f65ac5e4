/** Sizes as people type them ("10G", "512M", "4096") and bytes as people read them. Pure. */
import { ErrorCodes, ForkpointError } from '../../errors.js';

const UNITS: Record<string, number> = { '': 1, B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/**
 * A disk size as `qemu-img create` takes it: bytes, or K/M/G/T (binary), rounded up to whole
 * 512-byte sectors as qemu-img rounds it (`--size 10` is a 512-byte disk, not an error).
 */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  const bytes = m ? Math.round(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `invalid size "${text}": expected a positive number with an optional K, M, G or T suffix`, {
      field: 'size',
    });
  }
  return Math.ceil(bytes / 512) * 512;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
