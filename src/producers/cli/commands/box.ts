/** `forkpoint box create|rm|ls`. */
import { Option, type Command } from 'commander';
// A path typed here is read as the shell's tools read it: a `..` after a symlink is not folded away.
import { kernelPath } from '../../../qcow2/kernel-path.js';
import { ErrorCodes, ForkpointError } from '../../../errors.js';
import { parseBoxId } from '../../../names.js';
import { withReader } from '../../home-view.js';
import { action, printResult } from '../output.js';
import { openHome, withSession, type GlobalFlags } from '../session.js';
import { handOver, refuseMissing } from '../hand-over.js';
import { parseSize } from '../units.js';
import { OP_HELP, beginRequest, parseOp, waitForJob } from '../request.js';
import { naturalSort, stdoutIsTTY, tableText } from '../table.js';
import { registerBoxInfoCommand } from './info.js';
import { removeBoxesAsRequests } from '../remove-boxes.js';

export function registerBoxCommands(program: Command): void {
  const box = program.command('box').description('create, list and remove boxes (each has a container disk)');
  registerBoxInfoCommand(box);

  box
    .command('create')
    .argument('<box>', 'new box id')
    .option('--size <size>', 'a fresh empty disk of this virtual size (e.g. 10G)')
    .option('--from <image>', 'a standalone copy of this qcow2 image (its backing chain flattened)')
    .option('--rootfs <key>', 'a copy-on-write overlay of this rootfs cache image (see `forkpoint rootfs`)')
    .addOption(new Option('--op <op>', OP_HELP).argParser(parseOp))
    .description('create a box with a container disk')
    .addHelpText('after', '\nExamples:\n  forkpoint box create web --size 10G\n  forkpoint box create web --from ./debian.qcow2\n  forkpoint box create web --rootfs debian-12')
    .action(
      action(async (boxId: string, o: { size?: string; from?: string; rootfs?: string; op?: string }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        parseBoxId(boxId);
        if ([o.size, o.from, o.rootfs].filter((x) => x !== undefined).length !== 1) {
          throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, 'give exactly one of --size SIZE, --from IMAGE or --rootfs KEY', { field: 'size' });
        }
        const size = o.size !== undefined ? parseSize(o.size) : undefined;
        const from = o.from === undefined ? undefined : kernelPath(o.from);
        if (from !== undefined) refuseMissing(from);
        const result = await withSession(flags, async (s) => {
          // The same command run again (after a crash, Ctrl-C) is the same request: it joins or resumes its job.
          const request = beginRequest(s, 'box create', { boxId, size: size ?? null, from: from ?? null, rootfs: o.rootfs ?? null }, o.op);
          const made =
            from === undefined
              ? await waitForJob(s, flags, await s.client.createBox(boxId, size !== undefined ? { sizeBytes: size } : { rootfs: o.rootfs! }, request.op), 'creating')
              : await handOver(s, from, 'qcow2', async (fromImage) => waitForJob(s, flags, await s.client.createBox(boxId, { fromImage }, request.op), 'copying'), request.op);
          request.done();
          return made;
        }, o.rootfs !== undefined ? 'write' : 'create'); // a rootfs key names what a new home cannot have
        printResult(result, flags, (r) => `created box ${r.boxId} (${r.diskPath})`);
      }),
    );

  box
    .command('rm')
    .argument('<box...>', 'box ids')
    .description('remove boxes: their refs, their disk files, then GC of the bases nothing reads any more')
    .addHelpText('after', '\nEvery box is tried, whatever happens to the others; each outcome is reported (removed on stdout, the rest on stderr; all of them with --json), and the exit status is not 0 if any was not removed.')
    .action(
      action(async (ids: string[], _o: unknown, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        ids.forEach(parseBoxId); // all of them before any is removed
        const boxIds = [...new Set(ids)];
        const outcomes = await withSession(flags, (s) => removeBoxesAsRequests(s, boxIds), 'write');
        printResult(outcomes, flags, (rs) => rs.filter((r) => r.outcome === 'removed').map((r) => `removed box ${r.boxId}`).join('\n'));
        const notRemoved = outcomes.filter((r) => r.outcome !== 'removed');
        for (const r of notRemoved) process.stderr.write(`forkpoint: ${r.error!.message}${r.error!.code ? ` [${r.error!.code}]` : ''}\n`);
        // Bad input (unknown boxes only) is 2; any other failure gives its own code (1 when it has none).
        const failed = notRemoved.find((r) => r.outcome === 'failed');
        if (failed) process.exitCode = failed.error!.code ? ForkpointError.fromJSON({ code: failed.error!.code, message: '' }).exitCode : 1;
        else if (notRemoved.length > 0) process.exitCode = 2;
      }),
    );

  box
    .command('ls')
    .description('list boxes and the base each container disk reads')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        const { layout } = openHome(flags, 'read');
        const boxes = naturalSort(await withReader(layout, [], (r) => r.listBoxes()), (b) => b.id);
        printResult(boxes, flags, (bs) =>
          bs.length === 0 ? 'no boxes' : tableText(['BOX', 'STATE', 'BASE', 'DISK'], bs.map((b) => [b.id, b.state, `base=${b.baseId ?? '-'}`, b.diskPath]), stdoutIsTTY()),
        );
      }),
    );
}

