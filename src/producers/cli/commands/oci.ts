/**
 * `forkpoint box export BOX DIR`, `snapshot export BOX NAME DIR`, `box import DIR[:TAG] NEWBOX`:
 * boxes as OCI image layouts (src/oci/), which `skopeo copy` moves through any OCI registry.
 * Export reads the home only; import is a job (box-import) like every change.
 */
import { Option, type Command } from 'commander';
// A path typed here is read as the shell's tools read it: a `..` after a symlink is not folded away.
import { kernelPath } from '../../../qcow2/kernel-path.js';
import { refuseMissing } from '../hand-over.js';
import { ErrorCodes, ForkpointError } from '../../../errors.js';
import { parseBoxId, parseSnapshotName } from '../../../names.js';
import { withReader } from '../../home-view.js';
import { action, printResult } from '../output.js';
import { OP_HELP, beginRequest, parseOp, waitForJob } from '../request.js';
import { openHome, withSession, type GlobalFlags } from '../session.js';
import type { ExportResult } from '../../../oci/export.js';

function printExport(r: ExportResult | null, flags: GlobalFlags): void {
  printResult(r, flags, (x) => {
    if (!x) return '';
    const fresh = x.layers.filter((l) => l.written).length;
    return `exported ${x.layers.length} layers (${fresh} new, ${x.layers.length - fresh} already there) to ${x.dir} as tag ${x.tag}: oci:${x.dir}:${x.tag}`;
  });
}

async function runExport(flags: GlobalFlags, target: { boxId: string; snapshot?: string; dir: string; tag?: string }): Promise<void> {
  const { layout } = openHome(flags, 'read');
  const { exportFromHome } = await import('../../oci-export.js');
  const { ErrorCodes, ForkpointError } = await import('../../../errors.js');
  const result = await withReader(layout, null as ExportResult | null, (r) => exportFromHome(r, target));
  if (!result) throw new ForkpointError(ErrorCodes.UNKNOWN_BOX, `unknown box ${target.boxId}`, { id: target.boxId });
  printExport(result, flags);
}

export function registerOciCommands(program: Command): void {
  const box = program.commands.find((c) => c.name() === 'box')!;
  const snapshot = program.commands.find((c) => c.name() === 'snapshot')!;

  box
    .command('export')
    .argument('<box>')
    .argument('<dir>', 'an OCI image layout folder (made if missing; other tags in it are kept)')
    .option('--tag <tag>', 'the tag (org.opencontainers.image.ref.name); default: the box id')
    .description('write BOX and its backing chain into an OCI image layout, one blob per layer (stop or pause the box first)')
    .addHelpText('after', '\nExamples:\n  forkpoint box export web ./layout\n  skopeo copy oci:./layout:web docker://registry.example/boxes/web:web')
    .action(
      action(async (boxId: string, dir: string, o: { tag?: string }, cmd: Command) => {
        await runExport(cmd.optsWithGlobals<GlobalFlags>(), { boxId: parseBoxId(boxId), dir: kernelPath(dir), ...(o.tag !== undefined ? { tag: o.tag } : {}) });
      }),
    );

  snapshot
    .command('export')
    .argument('<box>')
    .argument('<name>')
    .argument('<dir>')
    .option('--tag <tag>', 'the tag; default: BOX-NAME')
    .description("write snapshot NAME of BOX and its backing chain into an OCI image layout")
    .action(
      action(async (boxId: string, name: string, dir: string, o: { tag?: string }, cmd: Command) => {
        await runExport(cmd.optsWithGlobals<GlobalFlags>(), { boxId: parseBoxId(boxId), snapshot: parseSnapshotName(name), dir: kernelPath(dir), ...(o.tag !== undefined ? { tag: o.tag } : {}) });
      }),
    );

  box
    .command('import')
    .argument('<layout>', 'DIR or DIR:TAG (an OCI image layout; TAG may be left out when it holds one image)')
    .argument('<box>', 'new box id')
    .addOption(new Option('--op <op>', OP_HELP).argParser(parseOp))
    .description('a new box from an OCI image layout: every digest verified, layers this home has already are reused')
    .action(
      action(async (ref: string, boxId: string, o: { op?: string }, cmd: Command) => {
        const flags = cmd.optsWithGlobals<GlobalFlags>();
        parseBoxId(boxId);
        const { splitLayoutRef, parseTag } = await import('../../../oci/layout.js');
        const { dir, tag } = splitLayoutRef(ref);
        if (tag !== null) parseTag(tag);
        // An empty name (an unset shell variable) would be the current folder: it names no layout.
        if (dir.trim() === '') throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `layout ${JSON.stringify(ref)}: no folder named`, { field: 'layout' });
        const layoutDir = kernelPath(dir);
        refuseMissing(layoutDir);
        const result = await withSession(flags, async (s) => {
          const request = beginRequest(s, 'box import', { layoutDir, tag, boxId }, o.op);
          const job = await s.client.importBox(layoutDir, boxId, tag !== null ? { tag } : {}, request.op);
          const done = await waitForJob(s, flags, job, 'importing');
          request.done();
          return done;
        }, 'create');
        printResult(result, flags, (r) => `imported box ${r.boxId} from ${layoutDir} (${r.layers.length} bases, ${r.layers.filter((l) => l.reused).length} reused; manifest ${r.manifest})`);
      }),
    );
}
