/** `forkpoint snapshot create|ls|rm|restore|clone`. */
import { Option, type Command } from 'commander';
import { ErrorCodes, ForkpointError } from '../../../errors.js';
import { parseBoxId, parseSnapshotName } from '../../../names.js';
import { withReader } from '../../home-view.js';
import { action, printResult } from '../output.js';
import { openHome, withSession, type GlobalFlags } from '../session.js';
import { formatBytes } from '../units.js';
import { naturalSort, stdoutIsTTY, tableText } from '../table.js';
import { OP_HELP, parseOp, runRequest } from '../request.js';

export function registerSnapshotCommands(program: Command): void {
  const snap = program.command('snapshot').description('named, immutable states of a box (never collected automatically)');

  snap
    .command('create')
    .argument('<box>')
    .argument('<name>')
    .addOption(new Option('--op <op>', OP_HELP).argParser(parseOp))
    .description('pin the current state of BOX as snapshot NAME (the box keeps running on a fresh child)')
    .action(
      action(async (boxId: string, name: string, o: { op?: string }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        parseBoxId(boxId);
        parseSnapshotName(name);
        const r = await withSession(
          flags,
          (s) => runRequest(s, flags, { command: 'snapshot create', args: { boxId, name }, op: o.op, label: 'snapshotting', enqueue: (op) => s.client.snapshot(boxId, name, op) }),
          'write', // its box must exist: a new home has none
        );
        printResult(r, flags, (x) => `snapshot ${x.name} of ${x.boxId}: base ${x.baseId} (${formatBytes(x.sizeBytes)})`);
      }),
    );

  snap
    .command('ls')
    .argument('[box]', 'only this box’s snapshots')
    .description('list snapshots')
    .action(
      action(async (boxId: string | undefined, _o: unknown, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        const { layout } = openHome(flags, 'read');
        const listed = await withReader(layout, [], (r) => r.listBases({ kind: 'snapshot', ...(boxId ? { sourceBoxId: boxId } : {}) }));
        const snaps = naturalSort(listed, (x) => `${x.sourceBoxId}\u0000${x.name ?? ''}`); // by box, then name
        printResult(snaps, flags, (ss) =>
          ss.length === 0
            ? 'no snapshots'
            : tableText(
                ['NAME', 'BOX', 'BASE', 'SIZE', 'CREATED'],
                ss.map((x) => [x.name ?? '-', x.sourceBoxId, x.id, formatBytes(x.sizeBytes), new Date(x.createdAt).toISOString()]),
                stdoutIsTTY(),
              ),
        );
      }),
    );

  snap
    .command('rm')
    .argument('<box-or-name>', 'BOX NAME, as `snapshot create BOX NAME` takes them; or NAME alone (with --box, or when the name is in one box)')
    .argument('[name]')
    .option('--box <box>', 'the box the snapshot belongs to (needed when the name is in several boxes)')
    .option('--force', 'remove it even while clones read it (it is hidden, and collected with its last reader)')
    .addOption(new Option('--op <op>', OP_HELP).argParser(parseOp))
    .description('remove a snapshot; refused while clones depend on it unless --force')
    .addHelpText('after', '\nExamples:\n  forkpoint snapshot rm web golden\n  forkpoint snapshot rm golden --box web')
    .action(
      action(async (first: string, second: string | undefined, o: { box?: string; force?: boolean; op?: string }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        if (second !== undefined && o.box !== undefined && o.box !== first) {
          throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `snapshot rm: box ${first} and --box ${o.box} disagree; give the box once`, { field: 'box' });
        }
        const name = second ?? first;
        if (second !== undefined) o.box = first;
        parseSnapshotName(name);
        if (o.box !== undefined) parseBoxId(o.box);
        const force = o.force ?? false;
        const r = await withSession(
          flags,
          (s) =>
            runRequest(s, flags, {
              command: 'snapshot rm',
              args: { name, box: o.box ?? null, force },
              op: o.op,
              label: 'removing',
              enqueue: (op) => s.client.removeSnapshot(name, { boxId: o.box, force }, op),
            }),
          'write',
        );
        printResult(r, flags, (x) => `snapshot ${x.name} (${x.baseId}) ${x.action === 'tombstoned' ? 'hidden; collected when nothing reads it' : 'removed'}`);
      }),
    );

  snap
    .command('restore')
    .argument('<box>')
    .argument('<name>')
    .option('--check-in-use', 'refuse (E_IMAGE_IN_USE) while a QEMU process holds the disk open; costs one qemu-img run')
    .description('make BOX read snapshot NAME again: its disk becomes a fresh child of the snapshot, and what it wrote since is discarded')
    .addHelpText('after', '\nStop the box first: forkpoint cannot tell whether a VM runs on the disk (--check-in-use asks QEMU\'s lock).')
    .action(
      action(async (boxId: string, name: string, o: { checkInUse?: boolean }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        parseBoxId(boxId);
        parseSnapshotName(name);
        const r = await withSession(flags, async (s) => (await s.client.restoreSnapshot(boxId, name, { checkInUse: o.checkInUse ?? false })).result(), 'write');
        printResult(r, flags, (x) => `box ${x.boxId} restored to snapshot ${x.name} (base ${x.baseId})${x.released.length ? `; released ${x.released.join(', ')}` : ''}`);
      }),
    );

  snap
    .command('clone')
    .argument('<name>')
    .argument('<target>', 'new box id')
    .option('--box <box>', 'the box the snapshot belongs to')
    .addOption(new Option('--op <op>', OP_HELP).argParser(parseOp))
    .description('a new box whose disk is a copy-on-write child of snapshot NAME')
    .action(
      action(async (name: string, target: string, o: { box?: string; op?: string }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        parseSnapshotName(name);
        parseBoxId(target);
        if (o.box !== undefined) parseBoxId(o.box);
        const r = await withSession(
          flags,
          (s) =>
            runRequest(s, flags, {
              command: 'snapshot clone',
              args: { name, target, box: o.box ?? null },
              op: o.op,
              label: 'cloning',
              enqueue: (op) => s.client.cloneSnapshot(name, target, { boxId: o.box }, op),
            }),
          'write',
        );
        printResult(r, flags, (x) => `box ${x.target} created from snapshot ${name} (base ${x.baseId})`);
      }),
    );
}
