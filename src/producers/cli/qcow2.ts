/**
 * `forkpoint qcow2 …`: low-level image inspection and writing, straight on
 * files (no queue, no database). The engine is imported inside each action so
 * `forkpoint --help` does not pay for it.
 */
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import type { OutputOptions } from './output.js';
import { action, printResult } from './output.js';

type Engine = typeof import('../../qcow2/index.js');
const engine = (): Promise<Engine> => import('../../qcow2/index.js');

/** --json is the program's global option (main.ts); --no-fsync is ours. */
interface WriteOpts extends OutputOptions {
  fsync: boolean;
}

const mib = (n: number): string => `${n} bytes (${(n / 1048576).toFixed(1)} MiB)`;

/** JSON.stringify cannot print bigints (feature bitmaps); show them as hex strings. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))) as T;
}

export function registerQcow2Commands(program: Command): void {
  const qcow2 = program
    .command('qcow2')
    .description('inspect and write qcow2 images directly (no queue, no database)')
    .addHelpText(
      'after',
      `
Examples:
  forkpoint --json qcow2 info disk.qcow2       header, backing chain, qemu-img-style keys
  forkpoint qcow2 chain disk.qcow2             backing files, nearest first
  forkpoint qcow2 overlay base.qcow2 new.qcow2 new COW child backed by base.qcow2
  forkpoint qcow2 fork box/disk.qcow2 bases/Ab12Cd34.qcow2
  forkpoint qcow2 rebase child.qcow2 /abs/other-base.qcow2
  forkpoint qcow2 flatten child.qcow2 standalone.qcow2`,
    );

  qcow2
    .command('info')
    .description('print the header, the backing chain and the virtual size of FILE (with --json: the keys of `qemu-img info --output=json`, plus header and backing-chain)')
    .argument('<file>', 'qcow2 image')
    .action(
      action(async (file: string, _o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<OutputOptions>();
        const q = await engine();
        const { header, fileSize } = q.readHeader(file);
        const chain = q.readBackingChain(file);
        const info = { ...q.qemuStyleInfo(file, header, { actualSize: statSync(file).blocks * 512, chain }), 'file-length': fileSize, header: plain(header) };
        printResult(info, opts, (i) =>
          [
            `image: ${file}`,
            `file format: qcow2 (compat ${i['format-specific'].data.compat})`,
            `virtual size: ${mib(i['virtual-size'])}`,
            `cluster size: ${i['cluster-size']}`,
            `refcount bits: ${String(i['format-specific'].data['refcount-bits'])}`,
            ...(i['backing-filename'] ? [`backing file: ${i['backing-filename']} (${i['backing-filename-format'] ?? 'format probed'})`] : []),
            ...chain.map((c, n) => `  chain[${n}]: ${c.path} (${c.format})`),
          ].join('\n'),
        );
      }),
    );

  qcow2
    .command('chain')
    .description('list the backing files of FILE, nearest first (the image itself is not listed)')
    .argument('<file>', 'qcow2 image')
    .action(
      action(async (file: string, _o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<OutputOptions>();
        const chain = (await engine()).readBackingChain(file);
        printResult(chain, opts, (c) => (c.length === 0 ? '(no backing file)' : c.map((e) => `${e.path}\t${e.format}`).join('\n')));
      }),
    );

  qcow2
    .command('overlay')
    .description('create CHILD: a new qcow2 v3 copy-on-write overlay backed by BASE (qcow2 or raw)')
    .argument('<base>', 'backing image (qcow2 or raw); stored as its absolute canonical path')
    .argument('<child>', 'new file; refused if it exists')
    .option('--no-fsync', 'skip fsync of the file and its folder (faster, not crash-safe)')
    .action(
      action(async (base: string, child: string, _o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<WriteOpts>();
        const r = (await engine()).writeCowChild(base, child, { fsync: opts.fsync });
        printResult(r, opts, (x) => `${x.path}: overlay of ${x.backingPath} (${x.backingFormat}), ${mib(x.virtualSize)}`);
      }),
    );

  qcow2
    .command('fork')
    .description('move SOURCE to DEST (an immutable 0400 base) and leave a COW child of it at SOURCE')
    .argument('<source>', 'qcow2 disk to fork (e.g. a stopped box\'s container.qcow2)')
    .argument('<dest>', 'where the base goes; refused if it exists')
    .option('--no-fsync', 'skip fsyncs (faster, not crash-safe)')
    .addHelpText('after', '\nThe VM using SOURCE must be stopped or paused: a running VM keeps writing to the moved file.')
    .action(
      action(async (source: string, dest: string, _o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<WriteOpts>();
        const r = (await engine()).forkQcow2(source, dest, { fsync: opts.fsync });
        printResult(r, opts, (x) => `${x.childPath}: now a child of ${x.basePath} (${mib(x.containerDiskBytes)} virtual, ${x.sizeBytes} bytes on disk)`);
      }),
    );

  qcow2
    .command('rebase')
    .description('re-point FILE at NEW_BACKING without copying data (like qemu-img rebase -u)')
    .argument('<file>', 'qcow2 image to rewrite (read-only bases are refused)')
    .argument('<new-backing>', 'stored as given; a relative name is relative to FILE\'s folder')
    .option('-F, --backing-format <format>', 'qcow2 or raw (default: probed)')
    .action(
      action(async (file: string, newBacking: string, _o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<OutputOptions & { backingFormat?: string }>();
        const q = await engine();
        const fmt = opts.backingFormat;
        if (fmt !== undefined && fmt !== 'qcow2' && fmt !== 'raw') {
          const { ErrorCodes, ForkpointError } = await import('../../errors.js');
          throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `--backing-format ${fmt}: must be qcow2 or raw`, { field: 'backing-format' });
        }
        const r = q.setBackingPath(file, newBacking, fmt === undefined ? {} : { backingFormat: fmt });
        printResult({ path: file, ...r }, opts, (x) => `${x.path}: backing file is now ${x.backingFile} (${x.backingFormat})`);
      }),
    );

  qcow2
    .command('flatten')
    .description('write DEST: one standalone qcow2 image with the data of FILE and its whole backing chain')
    .argument('<file>', 'top image of the chain')
    .argument('<dest>', 'new file; refused if it exists')
    .option('--no-fsync', 'skip fsyncs')
    .action(
      action(async (file: string, dest: string, _o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<WriteOpts>();
        const r = (await engine()).flatten(file, dest, { fsync: opts.fsync });
        printResult(r, opts, (x) => `${x.path}: standalone, ${mib(x.virtualSize)} virtual, ${x.dataClusters} data clusters`);
      }),
    );
}
