/** `forkpoint box create|rm|ls`. */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { ErrorCodes, ForkpointError } from '../../../errors.js';
import { parseBoxId } from '../../../names.js';
import { withReader } from '../../home-view.js';
import { action, printResult } from '../output.js';
import { openHome, withSession, type GlobalFlags } from '../session.js';
import { handOver } from '../hand-over.js';
import { parseSize } from '../units.js';

export function registerBoxCommands(program: Command): void {
  const box = program.command('box').description('create, list and remove boxes (each has a container disk)');

  box
    .command('create')
    .argument('<box>', 'new box id')
    .option('--size <size>', 'a fresh empty disk of this virtual size (e.g. 10G)')
    .option('--from <image>', 'a standalone copy of this qcow2 image (its backing chain flattened)')
    .option('--rootfs <key>', 'a copy-on-write overlay of this rootfs cache image (see `forkpoint rootfs`)')
    .description('create a box with a container disk')
    .addHelpText('after', '\nExamples:\n  forkpoint box create web --size 10G\n  forkpoint box create web --from ./debian.qcow2\n  forkpoint box create web --rootfs debian-12')
    .action(
      action(async (boxId: string, o: { size?: string; from?: string; rootfs?: string }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        parseBoxId(boxId);
        if ([o.size, o.from, o.rootfs].filter((x) => x !== undefined).length !== 1) {
          throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, 'give exactly one of --size SIZE, --from IMAGE or --rootfs KEY', { field: 'size' });
        }
        const size = o.size !== undefined ? parseSize(o.size) : undefined;
        const result = await withSession(flags, async (s) => {
          if (o.from === undefined) return (await s.client.createBox(boxId, size !== undefined ? { sizeBytes: size } : { rootfs: o.rootfs! })).result();
          return handOver(s, resolve(o.from), 'qcow2', async (fromImage) => (await s.client.createBox(boxId, { fromImage })).result());
        });
        printResult(result, flags, (r) => `created box ${r.boxId} (${r.diskPath})`);
      }),
    );

  box
    .command('rm')
    .argument('<box...>', 'box ids')
    .description('remove boxes: their refs, their disk files, then GC of the bases nothing reads any more')
    .action(
      action(async (boxIds: string[], _o: unknown, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        boxIds.forEach(parseBoxId); // all of them before any is removed
        const results = await withSession(flags, async (s) => {
          const handles = await Promise.all(boxIds.map((id) => s.client.removeBox(id)));
          return Promise.all(handles.map((h) => h.result()));
        });
        printResult(results, flags, (rs) => rs.map((r) => `removed box ${r.boxId}`).join('\n'));
      }),
    );

  box
    .command('ls')
    .description('list boxes and the base each container disk reads')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        const { layout } = openHome(flags);
        const boxes = await withReader(layout, [], (r) => r.listBoxes());
        printResult(boxes, flags, (bs) =>
          bs.length === 0 ? 'no boxes' : bs.map((b) => `${b.id}\t${b.state}\tbase=${b.baseId ?? '-'}\t${b.diskPath}`).join('\n'),
        );
      }),
    );
}

