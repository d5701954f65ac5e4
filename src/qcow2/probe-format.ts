/**
 * Pure: the other image formats QEMU's probing recognises. A backing file
 * with no recorded format is probed by qemu (block.c find_image_format: the
 * first 2048 bytes, zero-padded, plus the file name), and anything qemu takes
 * for vmdk, vdi, … would be read by us as raw: the guest would see the
 * container's bytes. So these are recognised and refused, never read as raw.
 * The tests mirror each driver's bdrv_probe in qemu 7.2 (qcow2 is handled by
 * header.ts; raw is what is left).
 */

/** qemu's BLOCK_PROBE_BUF_SIZE. */
export const PROBE_BYTES = 2048;

const ascii = (buf: Buffer, at: number, text: string): boolean => buf.toString('latin1', at, at + text.length) === text;

/** vmdk_probe: a binary extent ("KDMV", "COWD") or a text descriptor whose first real line is version=1|2|3. */
function isVmdk(buf: Buffer): boolean {
  if (ascii(buf, 0, 'KDMV') || ascii(buf, 0, 'COWD')) return true;
  let p = 0;
  while (p < buf.length) {
    const c = buf[p];
    if (c === 0x23 /* # */) {
      while (p < buf.length && buf[p] !== 0x0a) p++;
      p++;
      continue;
    }
    if (c === 0x20 /* space */) {
      while (p < buf.length && buf[p] === 0x20) p++;
      if (p < buf.length && buf[p] === 0x0d) p++;
      if (p === buf.length || buf[p] !== 0x0a) return false; // only blank lines may come before version=
      p++;
      continue;
    }
    return /^version=[123]\r?\n/.test(buf.toString('latin1', p, p + 11));
  }
  return false;
}

const CLOOP_MAGIC = '#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n';

/** Each driver's probe; a file is the first match. All score 100 in qemu except cloop and dmg (2), which lose to any other. */
const PROBES: { format: string; test: (buf: Buffer, name: string) => boolean }[] = [
  { format: 'qcow2', test: (b) => b.readUInt32BE(0) === 0x514649fb && b.readUInt32BE(4) >= 2 },
  { format: 'vmdk', test: isVmdk },
  { format: 'vdi', test: (b) => b.readUInt32LE(64) === 0xbeda107f },
  { format: 'vhdx', test: (b) => ascii(b, 0, 'vhdxfile') },
  { format: 'vpc', test: (b) => ascii(b, 0, 'conectix') },
  { format: 'qed', test: (b) => ascii(b, 0, 'QED\0') },
  // qcow version 1: the qcow2 magic with version 1 (qcow2_probe wants version >= 2)
  { format: 'qcow', test: (b) => b.readUInt32BE(0) === 0x514649fb && b.readUInt32BE(4) === 1 },
  { format: 'parallels', test: (b) => (ascii(b, 0, 'WithoutFreeSpace') || ascii(b, 0, 'WithouFreSpacExt')) && b.readUInt32LE(16) === 2 },
  {
    format: 'bochs',
    test: (b) =>
      ascii(b, 0, 'Bochs Virtual HD Image\0') && ascii(b, 32, 'Redolog\0') && ascii(b, 48, 'Growing\0') && [0x10000, 0x20000].includes(b.readUInt32LE(64)),
  },
  { format: 'cloop', test: (b) => ascii(b, 0, CLOOP_MAGIC) },
  { format: 'luks', test: (b) => ascii(b, 0, 'LUKS\xba\xbe') && b.readUInt16BE(6) === 1 },
  // dmg_probe looks only at the name: a file called *.dmg is a dmg to qemu, whatever it holds
  { format: 'dmg', test: (_b, name) => name.length > 4 && name.endsWith('.dmg') },
];

/**
 * The format qemu would probe this file as, when it is neither qcow2 nor raw;
 * null otherwise. `prefix`: the file's first bytes (up to PROBE_BYTES), `name`
 * the path qemu opens. An empty file is raw to qemu, whatever its name.
 */
export function foreignFormat(prefix: Buffer, name: string, fileSize: number): string | null {
  if (fileSize === 0) return null;
  const buf = Buffer.alloc(PROBE_BYTES); // qemu reads past EOF as zeros
  prefix.copy(buf, 0, 0, Math.min(prefix.length, PROBE_BYTES, fileSize));
  const format = PROBES.find((p) => p.test(buf, name))?.format ?? null;
  return format === 'qcow2' ? null : format; // qcow2 is header.ts's business
}

/** The advice every refusal of another format ends with. */
export function convertHint(path: string, format: string): string {
  return `convert it first: qemu-img convert -f ${format} -O qcow2 ${path} NEW.qcow2`;
}
