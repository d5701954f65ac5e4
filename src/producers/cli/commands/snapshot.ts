/** `forkpoint snapshot create|ls|rm|clone`. */
import type { Command } from 'commander';
import { ErrorCodes, ForkpointError } from '../../../errors.js';
import { parseBoxId, parseSnapshotName } from '../../../names.js';
import { withReader } from '../../home-view.js';
import { action, printResult } from '../output.js';
import { openHome, withSession, type GlobalFlags } from '../session.js';
import { formatBytes } from '../units.js';

export function registerSnapshotCommands(program: Command): void {
  const snap = program.command('snapshot').description('named, immutable states of a box (never collected automatically)');

  snap
    .command('create')
    .argument('<box>')
    .argument('<name>')
    .description('pin the current state of BOX as snapshot NAME (the box keeps running on a fresh child)')
    .action(
      action(async (boxId: string, name: string, _o: unknown, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        parseBoxId(boxId);
        parseSnapshotName(name);
        const r = await withSession(flags, async (s) => (await s.client.snapshot(boxId, name)).result(), 'create');
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
        const snaps = await withReader(layout, [], (r) => r.listBases({ kind: 'snapshot', ...(boxId ? { sourceBoxId: boxId } : {}) }));
        printResult(snaps, flags, (ss) =>
          ss.length === 0 ? 'no snapshots' : ss.map((x) => `${x.name}\t${x.sourceBoxId}\t${x.id}\t${formatBytes(x.sizeBytes)}\t${new Date(x.createdAt).toISOString()}`).join('\n'),
        );
      }),
    );

  snap
    .command('rm')
    .argument('<box-or-name>', 'BOX NAME, as `snapshot create BOX NAME` takes them; or NAME alone (with --box, or when the name is in one box)')
    .argument('[name]')
    .option('--box <box>', 'the box the snapshot belongs to (needed when the name is in several boxes)')
    .option('--force', 'remove it even while clones read it (it is hidden, and collected with its last reader)')
    .description('remove a snapshot; refused while clones depend on it unless --force')
    .addHelpText('after', '\nExamples:\n  forkpoint snapshot rm web golden\n  forkpoint snapshot rm golden --box web')
    .action(
      action(async (first: string, second: string | undefined, o: { box?: string; force?: boolean }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        if (second !== undefined && o.box !== undefined && o.box !== first) {
          throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `snapshot rm: box ${first} and --box ${o.box} disagree; give the box once`, { field: 'box' });
        }
        const name = second ?? first;
        if (second !== undefined) o.box = first;
        parseSnapshotName(name);
        if (o.box !== undefined) parseBoxId(o.box);
        const r = await withSession(flags, async (s) => (await s.client.removeSnapshot(name, { boxId: o.box, force: o.force ?? false })).result(), 'write');
        printResult(r, flags, (x) => `snapshot ${x.name} (${x.baseId}) ${x.action === 'tombstoned' ? 'hidden; collected when nothing reads it' : 'removed'}`);
      }),
    );

  snap
    .command('clone')
    .argument('<name>')
    .argument('<target>', 'new box id')
    .option('--box <box>', 'the box the snapshot belongs to')
    .description('a new box whose disk is a copy-on-write child of snapshot NAME')
    .action(
      action(async (name: string, target: string, o: { box?: string }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        parseSnapshotName(name);
        parseBoxId(target);
        if (o.box !== undefined) parseBoxId(o.box);
        const r = await withSession(flags, async (s) => (await s.client.cloneSnapshot(name, target, { boxId: o.box })).result(), 'write');
        printResult(r, flags, (x) => `box ${x.target} created from snapshot ${name} (base ${x.baseId})`);
      }),
    );
}
