/**
 * The image corpus: damaged and foreign images, each made with qemu-img plus
 * byte pokes, each with two verdicts checked in the same test: qemu's own
 * (qemu-io read fails, qemu-img check reports corruption, qemu-img info
 * refuses to open it, or qemu probes another format) and ours (the guest
 * bytes qemu-img convert gives, or a typed refusal naming the field or the
 * table entry). The invariant: we accept an image only if qemu opens it, and
 * never write a disk with silently wrong data. Cases follow QEMU's iotests
 * 060 (corrupt tables), 080 (bad header values), 036 (features), 114 (backing
 * formats); a few are stricter than qemu, and their qemu verdict says so.
 *
 * Reference image (`qemu-img create -f qcow2 img 64M` + a 64 KiB write of 0x5a):
 * header 0x0, refcount table 0x10000, refcount block 0x20000, L1 0x30000, L2 0x40000, data 0x50000.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isForkpointError, type ErrorCode } from '../../src/errors.js';
import { flatten, forkQcow2, MAX_CHAIN_DEPTH, qemuStyleInfo, readHeader, writeCowChild } from '../../src/qcow2/index.js';
import { assertTableEntries } from '../../src/qcow2/table-check.js';
import { qemuCheck, qemuCompare, qemuCreate, qemuImg, qemuInfo, qemuWrite, sha256 } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { patchBytes, qemuRebaseUnsafe, u32, u64 } from './helpers.js';

const tmp = useTmpDirs('fp-corpus-');

const MiB = 1024 * 1024;
const REF = { refcountTable: 0x10000, refcountBlock: 0x20000, l1: 0x30000, l2: 0x40000, data: 0x50000 };

// ─── how images are made ────────────────────────────────────────────────────

interface Made {
  dir: string;
  /** What our operation is given. */
  file: string;
  /** The foreign file whose format qemu probes (item 2 cases). */
  probe?: string;
}

function reference(dir: string, name = 'img.qcow2'): string {
  const file = join(dir, name);
  qemuCreate(file, { size: '64M' });
  qemuWrite(file, 0x5a, 0, 65536);
  return file;
}

/** The reference image written by qemu-img convert -c: its data cluster compressed. */
function compressed(dir: string): Made {
  const file = join(dir, 'compressed.qcow2');
  qemuImg(['convert', '-c', '-O', 'qcow2', reference(dir, 'plain.qcow2'), file]);
  return { dir, file };
}

/** The reference image with 8 bytes replaced at `offset`. */
const poked = (offset: number, value: bigint) => (dir: string): Made => {
  const file = reference(dir);
  patchBytes(file, offset, u64(value));
  return { dir, file };
};

const u64At = (file: string, offset: number): bigint => readFileSync(file).readBigUInt64BE(offset);
const MASK = 0x00fffffffffffe00n;

/** A qcow2 image with a bitmap (qemu-img bitmap --add), then `damage` applied. */
const withBitmap = (damage: (file: string, ext: number, dir: number) => void) => (d: string): Made => {
  const file = reference(d);
  qemuImg(['bitmap', '--add', file, 'b0']);
  const ext = readHeader(file).header.extensions.find((e) => e.type === 'bitmaps');
  if (ext?.type !== 'bitmaps') throw new Error('qemu-img wrote no bitmaps extension');
  damage(file, ext.offset + 8, Number(ext.directoryOffset));
  return { dir: d, file };
};

/** Foreign formats qemu-img can make. */
function qemuMade(format: string, options: string[] = []) {
  return (dir: string): string => {
    const file = join(dir, `disk.${format}`);
    qemuImg(['create', '-q', '-f', format, ...options, file, '16M']);
    return file;
  };
}

/** Foreign formats qemu-img cannot make: 1 MiB of zeros behind the bytes qemu's probe looks for. */
function magicMade(name: string, parts: [number, Buffer][]) {
  return (dir: string): string => {
    const file = join(dir, name);
    const buf = Buffer.alloc(MiB);
    for (const [at, bytes] of parts) bytes.copy(buf, at);
    writeFileSync(file, buf);
    return file;
  };
}

const FOREIGN: { format: string; label?: string; make: (dir: string) => string; qemuCanOpen: boolean }[] = [
  { format: 'vmdk', make: qemuMade('vmdk'), qemuCanOpen: true },
  { format: 'vmdk', label: 'vmdk text descriptor', make: qemuMade('vmdk', ['-o', 'subformat=monolithicFlat']), qemuCanOpen: true },
  { format: 'vdi', make: qemuMade('vdi'), qemuCanOpen: true },
  { format: 'vhdx', make: qemuMade('vhdx'), qemuCanOpen: true },
  { format: 'vpc', make: qemuMade('vpc'), qemuCanOpen: true },
  { format: 'qed', make: qemuMade('qed'), qemuCanOpen: true },
  { format: 'qcow', make: qemuMade('qcow'), qemuCanOpen: true },
  { format: 'parallels', make: qemuMade('parallels'), qemuCanOpen: true },
  {
    format: 'bochs',
    make: magicMade('disk.bochs', [[0, Buffer.from('Bochs Virtual HD Image\0')], [32, Buffer.from('Redolog\0')], [48, Buffer.from('Growing\0')], [64, Buffer.from([0, 0, 2, 0])]]),
    qemuCanOpen: false,
  },
  { format: 'cloop', make: magicMade('disk.cloop', [[0, Buffer.from('#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n')]]), qemuCanOpen: false },
  { format: 'luks', make: magicMade('disk.luks', [[0, Buffer.from([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe, 0, 1])]]), qemuCanOpen: false },
  // dmg is probed by name alone: any non-empty file called *.dmg
  { format: 'dmg', make: magicMade('disk.dmg', [[0, Buffer.alloc(16, 0x11)]]), qemuCanOpen: false },
];

/** A qcow2 child of `backing` that records no backing format, so qemu (and we) must probe it. */
function unformattedChildOf(dir: string, backing: string): string {
  const file = join(dir, 'top.qcow2');
  qemuImg(['create', '-q', '-f', 'qcow2', '-u', '-b', backing, '-F', 'raw', file, '16M']);
  const ext = readHeader(file).header.extensions.find((e) => e.type === 'backing-format');
  if (ext === undefined) throw new Error('qemu-img recorded no backing format');
  patchBytes(file, ext.offset, u32(0x0badf00d)); // now an unknown extension: qemu ignores it
  return file;
}

/** `file` over `depth` (≥ 1) backing files, absolute names, data in the bottom one. */
function chainOf(dir: string, depth: number): string {
  let below = join(dir, 'l0.qcow2');
  qemuCreate(below, { size: '4M' });
  qemuWrite(below, 0x21, 0, 65536);
  for (let i = 1; i < depth; i++) {
    const next = join(dir, `l${i}.qcow2`);
    qemuCreate(next, { backing: below, backingFormat: 'qcow2' });
    below = next;
  }
  const file = join(dir, 'top.qcow2');
  qemuCreate(file, { backing: below, backingFormat: 'qcow2' });
  return file;
}

// ─── the verdicts ───────────────────────────────────────────────────────────

type Qemu =
  | { read: 'fails'; says: string } // qemu-io cannot read the first 128 KiB
  | { io: 'refuses'; says: string } // qemu-io cannot open it at all (qemu-img info -U, which reads no data, may)
  | { check: 'fails'; says: string } // qemu opens and reads it; qemu-img check reports corruption
  | { open: 'fails'; says: string } // qemu-img info --backing-chain refuses it
  | { open: 'ok' } // qemu opens it and check finds no corruption (leaks allowed)
  | { probes: string; opens: boolean }; // qemu-img info takes `probe` for this format

type Ours = 'same-bytes' | { code: ErrorCode; names: (m: Made) => string[]; details?: Record<string, unknown> };

/** `layer`: the check an image kept as it is gets (an imported OCI layer becomes a box's disk): its tables and refcounts. */
type Op = 'flatten' | 'open' | 'overlay' | 'fork' | 'layer';

interface Case {
  name: string;
  make: (dir: string) => Made;
  qemu: Qemu;
  ours: Partial<Record<Op, Ours>>;
}

function run(cmd: string, args: string[]): { status: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * MiB });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function expectQemuVerdict(v: Qemu, m: Made): void {
  if ('probes' in v) {
    const info = run('qemu-img', ['info', '-U', '--output=json', m.probe!]);
    if (v.opens) expect((JSON.parse(info.out) as { format: string }).format).toBe(v.probes);
    else expect(info.status, `qemu-img opened ${m.probe} (so it took it for raw): ${info.out}`).not.toBe(0);
    return;
  }
  if ('io' in v) {
    const r = run('qemu-io', ['-r', '-f', 'qcow2', '-c', 'read 0 128k', m.file]);
    expect(r.status, r.out).not.toBe(0);
    expect(r.out).toContain(`can't open device ${m.file}: ${v.says}`);
    return;
  }
  if ('read' in v) {
    const r = run('qemu-io', ['-r', '-f', 'qcow2', '-c', 'read 0 128k', m.file]);
    expect(r.out).toContain('read failed');
    expect(r.out).toContain(v.says);
    return;
  }
  if ('check' in v) {
    expect(run('qemu-io', ['-r', '-f', 'qcow2', '-c', 'read 0 128k', m.file]).out).not.toContain('failed');
    const c = qemuCheck(m.file);
    expect(c.status, c.output).toBe(2);
    expect(c.output).toContain(v.says);
    return;
  }
  const info = run('qemu-img', ['info', '-U', '--backing-chain', m.file]);
  if (v.open === 'fails') {
    expect(info.status, info.out).not.toBe(0);
    expect(info.out).toContain(v.says);
  } else {
    expect(info.status, info.out).toBe(0);
    expect(qemuCheck(m.file).status).not.toBe(2);
  }
}

/** Our operation; returns the image it wrote (null for `open`). */
function ours(op: Op, m: Made): string | null {
  switch (op) {
    case 'open':
      readHeader(m.file);
      return null;
    case 'layer':
      assertTableEntries(m.file);
      return null;
    case 'flatten':
      flatten(m.file, join(m.dir, 'out.qcow2'), { fsync: false });
      return join(m.dir, 'out.qcow2');
    case 'overlay':
      writeCowChild(m.file, join(m.dir, 'out.qcow2'), { fsync: false });
      return join(m.dir, 'out.qcow2');
    case 'fork':
      forkQcow2(m.file, join(m.dir, 'forked-base.qcow2'), { fsync: false });
      return m.file; // the child now at the source path
  }
}

function expectOurVerdict(op: Op, v: Ours, m: Made): void {
  if (v === 'same-bytes') {
    const view = join(m.dir, 'qemu-view.raw');
    qemuImg(['convert', '-U', '-O', 'raw', m.file, view]);
    const out = ours(op, m);
    if (out !== null) {
      const cmp = qemuCompare(out, view);
      expect(cmp.status, cmp.output).toBe(0);
    }
    return;
  }
  const before = sha256(m.file);
  let caught: unknown;
  try {
    ours(op, m);
  } catch (err) {
    caught = err;
  }
  expect(caught, `${op} accepted it`).toBeDefined();
  if (!isForkpointError(caught)) throw caught;
  expect(caught.code, caught.message).toBe(v.code);
  for (const name of v.names(m)) expect(caught.message).toContain(name);
  if (v.details) expect(caught.details).toMatchObject(v.details);
  expect(caught.message.split('\n')).toHaveLength(1);
  expect(sha256(m.file)).toBe(before); // nothing moved or rewritten
  expect(existsSync(join(m.dir, 'out.qcow2'))).toBe(false); // no partial output
  expect(existsSync(join(m.dir, 'forked-base.qcow2'))).toBe(false);
}

const refused = (code: ErrorCode, names: (m: Made) => string[], details?: Record<string, unknown>): Ours => ({ code, names, details });
const l1Entry = (problem: string): Ours =>
  refused('E_QCOW2_CORRUPT', (m) => [m.file, 'L1 table entry 0', problem], { table: 'L1', entry: 0, field: 'l1_table' });
const l2Entry = (problem: string): Ours =>
  refused('E_QCOW2_CORRUPT', (m) => [m.file, 'L2 table at 0x40000 (L1 entry 0), entry 0', problem], { table: 'L2', entry: 0, l1Entry: 0, l2TableOffset: REF.l2, field: 'l2_table' });
const field = (code: ErrorCode, name: string, problem: string): Ours => refused(code, (m) => [m.file, problem], { field: name });

// ─── the corpus ─────────────────────────────────────────────────────────────

const L1 = 0x8000000000000000n; // the "copied" bit qemu sets on every entry it owns

const TABLE_ENTRIES: Case[] = [
  { name: 'the reference image', make: (d) => ({ dir: d, file: reference(d) }), qemu: { open: 'ok' }, ours: { flatten: 'same-bytes', overlay: 'same-bytes' } },
  {
    name: 'L1 entry not cluster aligned (0x42a00)',
    make: poked(REF.l1, 0x8000000000042a00n),
    qemu: { read: 'fails', says: 'Input/output error' },
    ours: { flatten: l1Entry('L2 table offset 0x42a00 is not aligned') },
  },
  { name: 'L1 entry with a reserved bit (1)', make: poked(REF.l1, L1 | 0x40002n), qemu: { check: 'fails', says: 'L1 entry with reserved bits set' }, ours: { flatten: l1Entry('reserved bits 0x2') } },
  { name: 'L1 entry with a reserved bit (56)', make: poked(REF.l1, L1 | (1n << 56n) | 0x40000n), qemu: { check: 'fails', says: 'L1 entry with reserved bits set' }, ours: { flatten: l1Entry('reserved bits 0x100000000000000') } },
  {
    name: 'L1 entry with a huge L2 offset (2^56 - 64 KiB)',
    make: poked(REF.l1, L1 | 0xffffffffff0000n),
    qemu: { check: 'fails', says: 'exceeding the end of the file' },
    ours: { flatten: l1Entry('L2 table offset 0xffffffffff0000 lies beyond the end of the file') },
  },
  { name: 'L1 entry past the end of the file', make: poked(REF.l1, L1 | 0x70000n), qemu: { check: 'fails', says: 'exceeding the end of the file' }, ours: { flatten: l1Entry('lies beyond the end of the file') } },
  { name: 'L1 entry pointing at the L1 table', make: poked(REF.l1, L1 | BigInt(REF.l1)), qemu: { check: 'fails', says: 'cluster 3 refcount=1 reference=3' }, ours: { flatten: l1Entry('points at the L1 table') } },
  { name: 'L1 entry pointing at the refcount table', make: poked(REF.l1, L1 | BigInt(REF.refcountTable)), qemu: { check: 'fails', says: 'cluster 1 refcount=1 reference=2' }, ours: { flatten: l1Entry('points at the refcount table') } },
  {
    name: 'L2 entry not cluster aligned (0x50200)',
    make: poked(REF.l2, L1 | 0x50200n),
    qemu: { read: 'fails', says: 'Input/output error' },
    ours: { flatten: l2Entry('data cluster offset 0x50200 is not aligned') },
  },
  { name: 'L2 entry with a reserved bit (1)', make: poked(REF.l2, L1 | 0x50002n), qemu: { check: 'fails', says: 'l2 entry with reserved bits set' }, ours: { flatten: l2Entry('reserved bits 0x2') } },
  { name: 'L2 entry with a reserved bit (56)', make: poked(REF.l2, L1 | (1n << 56n) | 0x50000n), qemu: { check: 'fails', says: 'l2 entry with reserved bits set' }, ours: { flatten: l2Entry('reserved bits') } },
  {
    name: 'L2 entry with a huge data offset',
    make: poked(REF.l2, L1 | 0xffffffffff0000n),
    qemu: { check: 'fails', says: 'exceeding the end of the file' },
    ours: { flatten: l2Entry('data cluster offset 0xffffffffff0000 lies beyond the end of the file') },
  },
  { name: 'L2 entry past the end of the file', make: poked(REF.l2, L1 | 0x70000n), qemu: { check: 'fails', says: 'exceeding the end of the file' }, ours: { flatten: l2Entry('lies beyond the end of the file') } },
  { name: 'L2 entry pointing at the refcount table', make: poked(REF.l2, L1 | BigInt(REF.refcountTable)), qemu: { check: 'fails', says: 'cluster 1 refcount=1 reference=2' }, ours: { flatten: l2Entry('points at the refcount table') } },
  { name: 'L2 entry pointing at a refcount block', make: poked(REF.l2, L1 | BigInt(REF.refcountBlock)), qemu: { check: 'fails', says: 'cluster 2 refcount=1 reference=2' }, ours: { flatten: l2Entry('points at refcount block 0') } },
  { name: 'L2 entry pointing at the L1 table', make: poked(REF.l2, L1 | BigInt(REF.l1)), qemu: { check: 'fails', says: 'cluster 3 refcount=1 reference=2' }, ours: { flatten: l2Entry('points at the L1 table') } },
  { name: 'L2 entry pointing at its own L2 table', make: poked(REF.l2, L1 | BigInt(REF.l2)), qemu: { check: 'fails', says: 'cluster 4 refcount=1 reference=2' }, ours: { flatten: l2Entry('points at the L2 table of L1 entry 0') } },
  {
    name: 'zero flag in a v2 image',
    make: (d) => {
      const file = join(d, 'v2.qcow2');
      qemuCreate(file, { size: '64M', compat: '0.10' });
      qemuWrite(file, 0x5a, 0, 65536);
      const l2 = Number(u64At(file, readHeader(file).header.l1TableOffset) & MASK);
      patchBytes(file, l2, u64(u64At(file, l2) | 1n));
      return { dir: d, file };
    },
    qemu: { read: 'fails', says: 'Input/output error' },
    ours: { flatten: refused('E_QCOW2_CORRUPT', (m) => [m.file, 'entry 0', 'zero flag is set in a version 2 image'], { table: 'L2' }) },
  },
  {
    name: 'extended L2: an unallocated cluster with an allocated subcluster',
    make: (d) => {
      const file = join(d, 'x.qcow2');
      qemuCreate(file, { size: '4M', extendedL2: true });
      qemuWrite(file, 0x5a, 0, 65536);
      const l2 = Number(u64At(file, readHeader(file).header.l1TableOffset) & MASK);
      patchBytes(file, l2 + 16 + 8, u64(1n)); // entry 1 (guest 64 KiB): no host offset, subcluster 0 allocated
      return { dir: d, file };
    },
    qemu: { read: 'fails', says: 'Input/output error' },
    ours: { flatten: refused('E_QCOW2_CORRUPT', (m) => [m.file, 'entry 1 (guest offset 0x10000)', 'no host offset'], { table: 'L2', entry: 1 }) },
  },
  {
    name: 'a data cluster cut off by the end of the file (qemu reads the tail as zeros)',
    make: (d) => {
      const file = reference(d);
      truncateSync(file, REF.data + 0x8000);
      return { dir: d, file };
    },
    qemu: { open: 'ok' },
    ours: { flatten: 'same-bytes' },
  },
  {
    name: 'a compressed cluster (refused explicitly: we do not decompress)',
    make: compressed,
    qemu: { open: 'ok' },
    ours: { flatten: refused('E_QCOW2_UNSUPPORTED', (m) => [m.file, 'entry 0', 'compressed cluster', 'qemu-img convert'], { table: 'L2', entry: 0 }) },
  },
];

const FOREIGN_CASES: Case[] = FOREIGN.flatMap(({ format, label = format, make, qemuCanOpen }): Case[] => {
  const convert = (m: Made) => [m.probe!, `qemu probes this file as a ${format} image`, 'convert it first', 'qemu-img convert'];
  return [
    {
      name: `${label} given as the base of an overlay`,
      make: (d) => {
        const probe = make(d);
        return { dir: d, file: probe, probe };
      },
      qemu: { probes: format, opens: qemuCanOpen },
      ours: { overlay: refused('E_QCOW2_UNSUPPORTED', convert, { field: 'format' }) },
    },
    {
      name: `${label} as a backing file with no recorded format`,
      make: (d) => {
        const probe = make(d);
        return { dir: d, file: unformattedChildOf(d, probe), probe };
      },
      qemu: { probes: format, opens: qemuCanOpen },
      ours: {
        flatten: refused('E_QCOW2_UNSUPPORTED', convert),
        overlay: refused('E_QCOW2_UNSUPPORTED', (m) => [m.file, 'backing chain is broken', ...convert(m)]),
        fork: refused('E_QCOW2_UNSUPPORTED', (m) => [m.file, 'cannot fork', ...convert(m)]),
      },
    },
  ];
});

const RAW_CASES: Case[] = [
  {
    name: 'raw: a file of data with no magic',
    make: (d) => {
      const probe = join(d, 'disk.img');
      writeFileSync(probe, Buffer.alloc(MiB, 0x37));
      return { dir: d, file: unformattedChildOf(d, probe), probe };
    },
    qemu: { probes: 'raw', opens: true },
    ours: { flatten: 'same-bytes', overlay: 'same-bytes' },
  },
  {
    name: 'raw: text with a comment line but no version= line (not a vmdk descriptor to qemu)',
    make: (d) => {
      const probe = join(d, 'notes.img');
      const buf = Buffer.alloc(MiB);
      buf.write('# Disk DescriptorFile\nfoo\nversion=1\n');
      writeFileSync(probe, buf);
      return { dir: d, file: unformattedChildOf(d, probe), probe };
    },
    qemu: { probes: 'raw', opens: true },
    ours: { flatten: 'same-bytes', overlay: 'same-bytes' },
  },
  {
    name: 'qcow2 in a file called *.dmg (qemu’s qcow2 probe outranks the dmg name probe)',
    make: (d) => {
      const probe = reference(d, 'disk.dmg');
      return { dir: d, file: unformattedChildOf(d, probe), probe };
    },
    qemu: { probes: 'qcow2', opens: true },
    ours: { flatten: 'same-bytes', overlay: 'same-bytes' },
  },
];

const CHAIN_CASES: Case[] = [
  {
    name: 'a backing chain that loops (A → B → A)',
    make: (d) => {
      const a = join(d, 'a.qcow2');
      const b = join(d, 'b.qcow2');
      qemuCreate(a, { size: '4M' });
      qemuCreate(b, { backing: a, backingFormat: 'qcow2' });
      qemuRebaseUnsafe(a, b);
      return { dir: d, file: a };
    },
    qemu: { open: 'fails', says: 'creates an infinite loop' },
    ours: { overlay: refused('E_BACKING_LOOP', (m) => [m.file]), fork: refused('E_BACKING_LOOP', (m) => [m.file]) },
  },
  {
    name: 'a missing backing file',
    make: (d) => {
      const gone = join(d, 'gone.qcow2');
      qemuCreate(gone, { size: '4M' });
      const file = join(d, 'top.qcow2');
      qemuCreate(file, { backing: gone, backingFormat: 'qcow2' });
      rmSync(gone);
      return { dir: d, file };
    },
    qemu: { open: 'fails', says: 'No such file or directory' },
    ours: {
      overlay: refused('E_NOT_FOUND', (m) => [m.file, join(m.dir, 'gone.qcow2')]),
      fork: refused('E_NOT_FOUND', (m) => [m.file, join(m.dir, 'gone.qcow2')]),
    },
  },
  {
    name: 'a backing name that is a folder',
    make: (d) => {
      mkdirSync(join(d, 'folder'));
      const file = join(d, 'top.qcow2');
      qemuImg(['create', '-q', '-f', 'qcow2', '-u', '-b', join(d, 'folder'), '-F', 'qcow2', file, '4M']);
      return { dir: d, file };
    },
    qemu: { open: 'fails', says: 'to be a regular file' },
    ours: { overlay: refused('E_NOT_A_FILE', (m) => [m.file, join(m.dir, 'folder')]), fork: refused('E_NOT_A_FILE', (m) => [m.file, join(m.dir, 'folder')]) },
  },
  {
    name: 'an unknown backing format (-F foo)',
    make: (d) => {
      const base = join(d, 'base.qcow2');
      qemuCreate(base, { size: '4M' });
      const file = join(d, 'top.qcow2');
      qemuImg(['create', '-q', '-f', 'qcow2', '-u', '-b', base, '-F', 'raw', file, '4M']); // qemu-img refuses -F foo itself
      const ext = readHeader(file).header.extensions.find((e) => e.type === 'backing-format')!;
      patchBytes(file, ext.offset + 8, Buffer.from('foo'));
      return { dir: d, file };
    },
    qemu: { open: 'fails', says: "Unknown driver 'foo'" },
    ours: {
      overlay: refused('E_QCOW2_UNSUPPORTED', (m) => [m.file, '"foo"'], { field: 'backing_format' }),
      fork: refused('E_QCOW2_UNSUPPORTED', (m) => [m.file, '"foo"'], { field: 'backing_format' }),
    },
  },
  {
    name: `a base already reading ${MAX_CHAIN_DEPTH} backing files (our cap; qemu opens it)`,
    make: (d) => ({ dir: d, file: chainOf(d, MAX_CHAIN_DEPTH) }),
    qemu: { open: 'ok' },
    ours: {
      overlay: refused('E_CHAIN_TOO_DEEP', (m) => [m.file, 'cannot be the base of a new child', 'flatten it first'], { maxDepth: MAX_CHAIN_DEPTH }),
      fork: refused('E_CHAIN_TOO_DEEP', (m) => [m.file, 'cannot fork', 'flatten it first'], { maxDepth: MAX_CHAIN_DEPTH }),
    },
  },
  {
    name: `a base reading ${MAX_CHAIN_DEPTH - 1} backing files`,
    make: (d) => ({ dir: d, file: chainOf(d, MAX_CHAIN_DEPTH - 1) }),
    qemu: { open: 'ok' },
    ours: { overlay: 'same-bytes', fork: 'same-bytes', flatten: 'same-bytes' },
  },
  {
    // Folded as text, L/.. is top/ and its x.qcow2 holds 0x11; the kernel steps out of L's target.
    name: 'a backing name L/../x.qcow2 where L is a symlink (qemu reads the x.qcow2 beside its target)',
    make: (d) => {
      mkdirSync(join(d, 'top'));
      mkdirSync(join(d, 'other', 'sub'), { recursive: true });
      for (const [folder, pattern] of [['top', 0x11], ['other', 0x22]] as const) {
        qemuCreate(join(d, folder, 'x.qcow2'), { size: '4M' });
        qemuWrite(join(d, folder, 'x.qcow2'), pattern, 0, 65536);
      }
      symlinkSync('../other/sub', join(d, 'top', 'L'));
      const file = join(d, 'top', 'T.qcow2');
      qemuImg(['create', '-q', '-f', 'qcow2', '-u', '-b', 'L/../x.qcow2', '-F', 'qcow2', file, '4M']);
      return { dir: d, file };
    },
    qemu: { open: 'ok' },
    ours: { flatten: 'same-bytes', overlay: 'same-bytes' },
  },
];

/** The END marker the reference image's extensions end with. */
const endMarker = (file: string): number => readHeader(file).header.extensionsEnd - 8;

const HEADER_CASES: Case[] = [
  {
    // qemu checks the offset before it looks at the size: a name of 0 bytes does not excuse it.
    name: 'backing_file_offset past the header cluster, with a backing_file_size of 0',
    make: poked(8, 0x10008n),
    qemu: { open: 'fails', says: 'Invalid backing file offset' },
    ours: { open: field('E_QCOW2_CORRUPT', 'backing_file_offset', 'backing_file_offset = 65544 lies past the header cluster (65536 bytes)'), overlay: field('E_QCOW2_CORRUPT', 'backing_file_offset', 'backing_file_offset = 65544') },
  },
  {
    name: 'header_length 108: not a multiple of 8',
    make: (d) => {
      const file = reference(d);
      patchBytes(file, 100, u32(108));
      return { dir: d, file };
    },
    qemu: { open: 'fails', says: 'Header extension too large' },
    ours: { open: field('E_QCOW2_CORRUPT', 'header_length', 'header_length = 108 is not a multiple of 8') },
  },
  {
    name: 'header_length 105: not a multiple of 8 (stricter than qemu 7.2, which opens it)',
    make: (d) => {
      const file = reference(d);
      patchBytes(file, 100, u32(105));
      return { dir: d, file };
    },
    qemu: { open: 'ok' },
    ours: { open: field('E_QCOW2_CORRUPT', 'header_length', 'header_length = 105 is not a multiple of 8') },
  },
  {
    name: 'an end-of-extensions marker whose length overruns the header cluster',
    make: (d) => {
      const file = reference(d);
      patchBytes(file, endMarker(file) + 4, u32(0xffff0000));
      return { dir: d, file };
    },
    qemu: { open: 'fails', says: 'Header extension too large' },
    ours: { open: field('E_QCOW2_CORRUPT', 'header_extensions', 'overruns the header area') },
  },
  {
    name: 'a crypto header extension in an unencrypted image',
    make: (d) => {
      const file = reference(d);
      patchBytes(file, endMarker(file), Buffer.concat([u32(0x0537be77), u32(16), u64(0x10000), u64(0x1000), Buffer.alloc(8)]));
      return { dir: d, file };
    },
    qemu: { open: 'fails', says: 'CRYPTO header extension only expected with LUKS' },
    ours: { open: field('E_QCOW2_CORRUPT', 'crypt_method', 'crypt_method = 0 (only LUKS images have one)') },
  },
  {
    name: 'a snapshot table entry with 1025 bytes of extra data',
    make: (d) => {
      const file = reference(d);
      qemuImg(['snapshot', '-c', 's1', file]);
      patchBytes(file, readHeader(file).header.snapshotsOffset + 36, u32(1025));
      return { dir: d, file };
    },
    qemu: { open: 'fails', says: 'Too much extra metadata in snapshot table entry 0' },
    ours: { open: field('E_QCOW2_CORRUPT', 'extra_data_size', 'snapshot table entry 0: extra_data_size = 1025') },
  },
  {
    name: 'a snapshot table entry with 1024 bytes of extra data (the limit)',
    make: (d) => {
      const file = reference(d);
      qemuImg(['snapshot', '-c', 's1', file]);
      patchBytes(file, readHeader(file).header.snapshotsOffset + 36, u32(1024));
      return { dir: d, file };
    },
    qemu: { open: 'ok' },
    ours: { open: 'same-bytes' },
  },
  {
    name: 'autoclear bit 1 (data-file-raw) with no external data file',
    make: poked(88, 0x2n),
    qemu: { io: 'refuses', says: 'data-file-raw requires a data file' },
    ours: {
      open: field('E_QCOW2_CORRUPT', 'autoclear_features', 'bit 1 (data-file-raw) set but the image has no external data file'),
      overlay: field('E_QCOW2_CORRUPT', 'autoclear_features', 'data-file-raw'),
    },
  },
  {
    name: 'every autoclear bit set (qemu clears the unknown ones, but bit 1 is data-file-raw)',
    make: poked(88, 0xffffffffffffffffn),
    qemu: { io: 'refuses', says: 'data-file-raw requires a data file' },
    ours: { open: field('E_QCOW2_CORRUPT', 'autoclear_features', 'data-file-raw') },
  },
  { name: 'a healthy bitmap', make: withBitmap(() => {}), qemu: { open: 'ok' }, ours: { open: 'same-bytes', flatten: 'same-bytes' } },
  {
    name: 'bitmap directory offset not cluster aligned',
    make: withBitmap((f, ext, dir) => patchBytes(f, ext + 16, u64(dir + 8))),
    qemu: { open: 'fails', says: 'invalid bitmap directory offset' },
    ours: { open: field('E_QCOW2_CORRUPT', 'bitmap_directory_offset', 'is not a cluster') },
  },
  {
    name: 'bitmap directory past the end of the file',
    make: withBitmap((f, ext) => patchBytes(f, ext + 16, u64(16 * MiB))),
    qemu: { open: 'fails', says: "doesn't satisfy the constraints" },
    ours: { open: field('E_QCOW2_CORRUPT', 'bitmap_directory_offset', 'lies beyond the end of the file') },
  },
  {
    name: 'bitmap directory size over qemu’s limit',
    make: withBitmap((f, ext) => patchBytes(f, ext + 8, u64(256 * MiB))),
    qemu: { open: 'fails', says: 'exceeds the maximum supported size' },
    ours: { open: field('E_QCOW2_CORRUPT', 'bitmap_directory_size', 'bitmap_directory_size = 268435456 out of range') },
  },
  {
    name: 'bitmap directory size 0',
    make: withBitmap((f, ext) => patchBytes(f, ext + 8, u64(0))),
    qemu: { open: 'fails', says: 'bitmap directory size is zero' },
    ours: { open: field('E_QCOW2_CORRUPT', 'bitmap_directory_size', 'bitmap_directory_size = 0') },
  },
  {
    name: 'bitmaps extension with nb_bitmaps 0',
    make: withBitmap((f, ext) => patchBytes(f, ext, u32(0))),
    qemu: { open: 'fails', says: 'zero bitmaps' },
    ours: { open: field('E_QCOW2_CORRUPT', 'nb_bitmaps', 'nb_bitmaps = 0') },
  },
  {
    name: 'bitmap directory entry cut off by the directory size',
    make: withBitmap((f, ext) => patchBytes(f, ext + 8, u64(16))),
    qemu: { open: 'fails', says: 'Broken bitmap directory' },
    ours: { open: field('E_QCOW2_CORRUPT', 'bitmap_directory', 'cut off') },
  },
  {
    name: 'bitmap directory entry with granularity_bits 8',
    make: withBitmap((f, _ext, dir) => patchBytes(f, dir + 17, Buffer.from([8]))),
    qemu: { open: 'fails', says: "doesn't satisfy the constraints" },
    ours: { open: field('E_QCOW2_CORRUPT', 'bitmap_directory', 'granularity_bits = 8') },
  },
  {
    name: 'bitmap table with a malformed entry',
    make: withBitmap((f, _ext, dir) => patchBytes(f, Number(u64At(f, dir)), u64(2n))),
    qemu: { open: 'fails', says: 'Could not read bitmap_table' },
    ours: { open: field('E_QCOW2_CORRUPT', 'bitmap_table', 'bitmap table entry 0 = 0x2 is malformed') },
  },
  {
    name: 'bitmap table longer than the disk needs',
    make: withBitmap((f, _ext, dir) => patchBytes(f, dir + 8, u32(2))),
    qemu: { open: 'fails', says: "Could not read bitmap 'b0'" },
    ours: { open: field('E_QCOW2_CORRUPT', 'bitmap_table', 'bitmap_table_size = 2, the disk needs exactly 1') },
  },
  {
    name: 'an in-use bitmap with a malformed table (qemu does not load it)',
    make: withBitmap((f, _ext, dir) => {
      patchBytes(f, Number(u64At(f, dir)), u64(2n));
      patchBytes(f, dir + 12, u32(3)); // flags: in_use | auto
    }),
    qemu: { open: 'ok' },
    ours: { open: 'same-bytes' },
  },
  {
    name: 'a bogus bitmap directory without the autoclear bit (qemu ignores the extension)',
    make: withBitmap((f, ext) => {
      patchBytes(f, ext + 16, u64(16 * MiB));
      patchBytes(f, 88, u64(0)); // autoclear_features
    }),
    qemu: { open: 'ok' },
    ours: { open: 'same-bytes' },
  },
];

function runCases(cases: Case[]): void {
  for (const c of cases) {
    describe(c.name, () => {
      it('qemu’s verdict', () => {
        expectQemuVerdict(c.qemu, c.make(tmp()));
      });
      for (const [op, verdict] of Object.entries(c.ours) as [Op, Ours][]) {
        const says = verdict !== 'same-bytes' ? verdict.code : op === 'open' ? 'accepted' : 'the bytes qemu reads';
        it(`ours: ${op} → ${says}`, () => {
          expectOurVerdict(op, verdict, c.make(tmp()));
        });
      }
    });
  }
}

/** The reference image with a snapshot (its tables now shared: refcounts 2, COPIED flags clear), then a guest write (copied on write). */
function withSnapshot(dir: string): { file: string; snapshotsOffset: number } {
  const file = reference(dir);
  qemuImg(['snapshot', '-c', 's1', file]);
  qemuWrite(file, 0x6b, 0, 4096);
  return { file, snapshotsOffset: readHeader(file).header.snapshotsOffset };
}

/** The L2 table the active L1 table's entry 0 points at. */
const activeL2 = (file: string): number => Number(u64At(file, readHeader(file).header.l1TableOffset) & MASK);

const LAYER_CASES: Case[] = [
  { name: 'the reference image', make: (d) => ({ dir: d, file: reference(d) }), qemu: { open: 'ok' }, ours: { layer: 'same-bytes' } },
  {
    name: 'three snapshots, then a write (shared tables, refcounts of 2)',
    make: (d) => {
      const file = reference(d);
      for (const name of ['first-snapshot', 's2', 'the-third-one']) qemuImg(['snapshot', '-c', name, file]);
      qemuWrite(file, 0x6b, 0, 4096);
      return { dir: d, file };
    },
    qemu: { open: 'ok' },
    ours: { open: 'same-bytes', layer: 'same-bytes', flatten: 'same-bytes' },
  },
  { name: 'a healthy bitmap', make: withBitmap(() => {}), qemu: { open: 'ok' }, ours: { layer: 'same-bytes' } },
  {
    name: 'compressed clusters (qemu reads them)',
    make: compressed,
    qemu: { open: 'ok' },
    ours: { layer: 'same-bytes' },
  },
  {
    name: 'the header cluster with refcount 0',
    make: (d) => {
      const file = reference(d);
      patchBytes(file, REF.refcountBlock, Buffer.alloc(2)); // 16-bit refcounts: cluster 0's
      return { dir: d, file };
    },
    qemu: { check: 'fails', says: 'cluster 0 refcount=0 reference=1' },
    ours: { layer: refused('E_QCOW2_CORRUPT', (m) => [m.file, 'cluster 0 (host offset 0x0) has refcount 0 but 1 reference (the header)'], { field: 'refcount_table' }), flatten: 'same-bytes' },
  },
  {
    name: 'a refcount block past the end of the file',
    make: poked(REF.refcountTable, 0x10000000n),
    qemu: { check: 'fails', says: 'refcount block 0 is outside image' },
    ours: { layer: refused('E_QCOW2_CORRUPT', (m) => [m.file, 'refcount block 0 is at 0x10000000, beyond the end of the file']), flatten: 'same-bytes' },
  },
  {
    name: 'two L2 entries sharing one data cluster of refcount 1',
    make: (d) => {
      const file = reference(d);
      patchBytes(file, REF.l2 + 8, u64(L1 | BigInt(REF.data)));
      return { dir: d, file };
    },
    qemu: { check: 'fails', says: 'cluster 5 refcount=1 reference=2' },
    ours: {
      layer: refused('E_QCOW2_CORRUPT', (m) => [m.file, 'cluster 5 (host offset 0x50000) has refcount 1 but 2 references', 'guest offset 0x0', 'guest offset 0x10000']),
      flatten: 'same-bytes',
    },
  },
  {
    name: 'a data cluster of refcount 1 without its COPIED flag',
    make: poked(REF.l2, BigInt(REF.data)),
    qemu: { check: 'fails', says: 'OFLAG_COPIED data cluster' },
    ours: { layer: refused('E_QCOW2_CORRUPT', (m) => [m.file, 'the data of guest offset 0x0', 'COPIED flag clear but its refcount is 1']) },
  },
  {
    name: 'an L2 entry pointing at the snapshot table',
    make: (d) => {
      const { file, snapshotsOffset } = withSnapshot(d);
      patchBytes(file, activeL2(file) + 8, u64(L1 | BigInt(snapshotsOffset)));
      return { dir: d, file };
    },
    qemu: { check: 'fails', says: 'reference=2' },
    ours: {
      flatten: refused('E_QCOW2_CORRUPT', (m) => [m.file, 'entry 1', 'points at snapshot table entry 0']),
      layer: refused('E_QCOW2_CORRUPT', (m) => [m.file, 'points at snapshot table entry 0']),
    },
  },
  {
    name: 'an L2 entry pointing at the L1 table of a snapshot',
    make: (d) => {
      const { file } = withSnapshot(d);
      const snapshotL1 = Number(u64At(file, readHeader(file).header.snapshotsOffset));
      patchBytes(file, activeL2(file) + 8, u64(L1 | BigInt(snapshotL1)));
      return { dir: d, file };
    },
    qemu: { check: 'fails', says: 'reference=2' },
    ours: { flatten: refused('E_QCOW2_CORRUPT', (m) => [m.file, 'entry 1', 'points at the L1 table of snapshot 0']) },
  },
  {
    name: 'an L2 entry pointing at the bitmap directory',
    make: withBitmap((f, _ext, dir) => patchBytes(f, activeL2(f) + 8, u64(L1 | BigInt(dir)))),
    qemu: { check: 'fails', says: 'reference=2' },
    ours: { flatten: refused('E_QCOW2_CORRUPT', (m) => [m.file, 'entry 1', 'points at the bitmap directory']) },
  },
];

describe('the reference image has the layout the pokes assume', () => {
  it('header 0, refcount table 0x10000, refcount block 0x20000, L1 0x30000, L2 0x40000, data 0x50000', () => {
    const file = reference(tmp());
    const h = readHeader(file).header;
    expect([h.refcountTableOffset, h.l1TableOffset]).toEqual([REF.refcountTable, REF.l1]);
    expect(u64At(file, REF.refcountTable)).toBe(BigInt(REF.refcountBlock));
    expect(u64At(file, REF.l1)).toBe(L1 | BigInt(REF.l2));
    expect(u64At(file, REF.l2)).toBe(L1 | BigInt(REF.data));
  });
});

describe('L1 and L2 entries used for reading (iotests 060)', () => runCases(TABLE_ENTRIES));
describe('other formats are not raw (iotests 114)', () => runCases([...FOREIGN_CASES, ...RAW_CASES]));
describe('a new child checks its base’s chain exactly as fork does', () => runCases(CHAIN_CASES));
describe('headers and tables qemu refuses at open (iotests 080, 036)', () => runCases(HEADER_CASES));
describe('an image kept as it is: refcounts as qemu-img check counts them, and tables that are not data (iotests 060)', () => runCases(LAYER_CASES));

describe('a virtual size that is not a multiple of 512 (qemu rounds it down)', () => {
  const odd = (d: string): string => {
    const file = reference(d);
    patchBytes(file, 24, u64(64 * MiB + 256));
    return file;
  };

  it('qemu-img info and our info view both say 64 MiB', () => {
    const file = odd(tmp());
    expect(qemuInfo(file)['virtual-size']).toBe(64 * MiB);
    expect(qemuStyleInfo(file, readHeader(file).header)['virtual-size']).toBe(64 * MiB);
  });

  it('an overlay child’s header stores 64 MiB, and qemu reads the base’s bytes through it', () => {
    const dir = tmp();
    const file = odd(dir);
    const child = join(dir, 'child.qcow2');
    writeCowChild(file, child, { fsync: false });
    expect(u64At(child, 24)).toBe(BigInt(64 * MiB));
    expect(qemuInfo(child)['virtual-size']).toBe(64 * MiB);
    expect(qemuCheck(child).status).toBe(0);
    expect(qemuCompare(child, file).status).toBe(0);
  });

  it('a fork’s child and a flattened copy store 64 MiB too', () => {
    const dir = tmp();
    const file = odd(dir);
    const flat = join(dir, 'flat.qcow2');
    expect(flatten(file, flat, { fsync: false }).virtualSize).toBe(64 * MiB);
    expect(u64At(flat, 24)).toBe(BigInt(64 * MiB));
    expect(qemuCompare(flat, file).status).toBe(0);
    expect(forkQcow2(file, join(dir, 'base.qcow2'), { fsync: false }).containerDiskBytes).toBe(64 * MiB);
    expect(u64At(file, 24)).toBe(BigInt(64 * MiB));
  });
});

describe('the cached plan of a read-only base still sees its chain change', () => {
  it('a backing file removed after a first child is refused for the next child', () => {
    const dir = tmp();
    const below = join(dir, 'below.qcow2');
    qemuCreate(below, { size: '4M' });
    const base = join(dir, 'base.qcow2');
    qemuCreate(base, { backing: below, backingFormat: 'qcow2' });
    chmodSync(below, 0o444);
    chmodSync(base, 0o444); // read-only: its plan is cached
    writeCowChild(base, join(dir, 'c1.qcow2'), { fsync: false });
    expect(qemuCheck(join(dir, 'c1.qcow2')).status).toBe(0);
    rmSync(below);
    expect(run('qemu-img', ['info', '-U', '--backing-chain', base]).status).not.toBe(0); // qemu cannot open the base now
    expect(() => writeCowChild(base, join(dir, 'c2.qcow2'), { fsync: false })).toThrow(expect.objectContaining({ code: 'E_NOT_FOUND', message: expect.stringContaining(below) }));
    expect(existsSync(join(dir, 'c2.qcow2'))).toBe(false);
  });
});
