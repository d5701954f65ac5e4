/** `forkpoint rootfs import|ls|rm`: the shared rootfs cache (raw ext4 images boxes start from). */
import { Option, type Command } from 'commander';
// A path typed here is read as the shell's tools read it: a `..` after a symlink is not folded away.
import { kernelPath } from '../../../qcow2/kernel-path.js';
import { parseName } from '../../../names.js';
import { withReader } from '../../home-view.js';
import { action, printResult } from '../output.js';
import { handOver, refuseMissing } from '../hand-over.js';
import { openHome, withSession, type GlobalFlags } from '../session.js';
import { formatBytes } from '../units.js';
import { naturalSort, stdoutIsTTY, tableText } from '../table.js';
import { OP_HELP, beginRequest, parseOp, runRequest, waitForJob } from '../request.js';

export function registerRootfsCommands(program: Command): void {
  const rootfs = program.command('rootfs').description('the rootfs cache: raw images shared by boxes, never collected automatically');

  rootfs
    .command('import')
    .argument('<key>', 'version key (e.g. debian-12-2026.11)')
    .argument('<image>', 'raw ext4 image to copy into bases/ (read-only there)')
    .addOption(new Option('--op <op>', OP_HELP).argParser(parseOp))
    .description('copy a raw image into the cache under KEY (a key already imported is kept as it is)')
    .action(
      action(async (key: string, image: string, o: { op?: string }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        parseName(key, 'rootfs key');
        const path = kernelPath(image);
        refuseMissing(path);
        const r = await withSession(flags, async (s) => {
          // The same command run again (after a crash, Ctrl-C) is the same request: it joins or resumes its job.
          const request = beginRequest(s, 'rootfs import', { key, image: path }, o.op);
          const imported = await handOver(s, path, 'raw', async (served) => waitForJob(s, flags, await s.client.importRootfs(key, served, request.op), 'importing'), request.op);
          request.done();
          return imported;
        }, 'create');
        printResult(r, flags, (x) => `rootfs ${x.key}: base ${x.baseId} ${x.imported ? 'imported' : 'already in the cache'}`);
      }),
    );

  rootfs
    .command('ls')
    .description('list the cache')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        const { layout } = openHome(flags, 'read');
        const rows = naturalSort(await withReader(layout, [], (r) => r.listBases({ kind: 'rootfs' }).map((b) => ({ ...b, boxes: r.dependentBoxes(b.id) }))), (b) => b.name ?? '');
        printResult(rows, flags, (rs) =>
          rs.length === 0
            ? 'no rootfs images'
            : tableText(['KEY', 'BASE', 'SIZE', 'BOXES'], rs.map((b) => [b.name ?? '-', b.id, formatBytes(b.containerDiskBytes), `boxes=${b.boxes.length}`]), stdoutIsTTY()),
        );
      }),
    );

  rootfs
    .command('rm')
    .argument('<key>')
    .addOption(new Option('--op <op>', OP_HELP).argParser(parseOp))
    .description('remove a rootfs image; refused while any box reads it')
    .action(
      action(async (key: string, o: { op?: string }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        parseName(key, 'rootfs key');
        const r = await withSession(
          flags,
          (s) => runRequest(s, flags, { command: 'rootfs rm', args: { key }, op: o.op, label: 'removing', enqueue: (op) => s.client.removeRootfs(key, op) }),
          'write',
        );
        printResult(r, flags, (x) => `rootfs ${x.key} (${x.baseId}) removed`);
      }),
    );
}
