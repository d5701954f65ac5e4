/** `forkpoint rootfs import|ls|rm`: the shared rootfs cache (raw ext4 images boxes start from). */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { parseName } from '../../../names.js';
import { withReader } from '../../home-view.js';
import { action, printResult } from '../output.js';
import { handOver } from '../hand-over.js';
import { openHome, withSession, type GlobalFlags } from '../session.js';
import { formatBytes } from '../units.js';

export function registerRootfsCommands(program: Command): void {
  const rootfs = program.command('rootfs').description('the rootfs cache: raw images shared by boxes, never collected automatically');

  rootfs
    .command('import')
    .argument('<key>', 'version key (e.g. debian-12-2026.11)')
    .argument('<image>', 'raw ext4 image to copy into bases/ (read-only there)')
    .description('copy a raw image into the cache under KEY (a key already imported is kept as it is)')
    .action(
      action(async (key: string, image: string, _o: unknown, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        parseName(key, 'rootfs key');
        const r = await withSession(flags, (s) => handOver(s, resolve(image), 'raw', async (served) => (await s.client.importRootfs(key, served)).result()), 'create');
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
        const rows = await withReader(layout, [], (r) => r.listBases({ kind: 'rootfs' }).map((b) => ({ ...b, boxes: r.dependentBoxes(b.id) })));
        printResult(rows, flags, (rs) =>
          rs.length === 0 ? 'no rootfs images' : rs.map((b) => `${b.name}\t${b.id}\t${formatBytes(b.containerDiskBytes)}\tboxes=${b.boxes.length}`).join('\n'),
        );
      }),
    );

  rootfs
    .command('rm')
    .argument('<key>')
    .description('remove a rootfs image; refused while any box reads it')
    .action(
      action(async (key: string, _o: unknown, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        parseName(key, 'rootfs key');
        const r = await withSession(flags, async (s) => (await s.client.removeRootfs(key)).result(), 'write');
        printResult(r, flags, (x) => `rootfs ${x.key} (${x.baseId}) removed`);
      }),
    );
}
