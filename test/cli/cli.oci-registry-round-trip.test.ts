/**
 * Boxes through a real OCI registry: `box export` writes an OCI image layout that skopeo reads
 * (`skopeo inspect oci:DIR:TAG`) and copies into Debian's docker-registry on loopback and back;
 * `box import` of the copy into another home makes a box that reads the same bytes (qemu-img
 * compare) and passes qemu-img check. A second box sharing the first one's base adds only its new
 * layers to the layout, and its import reuses the base the home already has (by digest).
 * Snapshots export and import the same way. Runs the built CLI (dist/).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { boxDiskPath, homeLayout } from '../../src/layout.js';
import { goldenImage, runCli } from '../helpers/pipeline.js';
import { qemuCheck, qemuCompare } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-oci-');
const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) c.kill('SIGTERM');
});

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

/** Debian's docker-registry on loopback, storing in `dir`; resolves once /v2/ answers. */
async function startRegistry(dir: string): Promise<number> {
  const port = await freePort();
  const config = join(dir, 'registry.yml');
  writeFileSync(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'storage')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: 'ignore' });
  started.push(child);
  for (let i = 0; i < 200; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.ok, () => false);
    if (up) return port;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('docker-registry did not start');
}

function skopeo(args: string[]): string {
  const r = spawnSync('skopeo', args, { encoding: 'utf8' });
  expect(r.status, `skopeo ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

async function cli(home: string, args: string[]): Promise<string> {
  const r = await runCli(['--home', home, ...args]);
  expect(r.status, `forkpoint ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

const blobs = (dir: string) => readdirSync(join(dir, 'blobs', 'sha256')).length;

describe('cli: box export/import through an OCI registry', () => {
  it('exports, inspects and copies with skopeo through docker-registry, imports into another home', { timeout: 120_000 }, async () => {
    const dir = tmp();
    const [homeA, homeB, layout, back] = ['A', 'B', 'layout', 'back'].map((n) => join(dir, n)) as [string, string, string, string];
    await cli(homeA, ['box', 'create', 'web', '--from', goldenImage(join(dir, 'golden.qcow2'), 0x6d)]);
    await cli(homeA, ['clone', 'web', 'web2']); // web and web2 now read one base
    await cli(homeA, ['snapshot', 'create', 'web', 's1']);
    const a = homeLayout(homeA);

    const first = JSON.parse(await cli(homeA, ['--json', 'box', 'export', 'web', layout])) as { layers: { written: boolean }[] };
    expect(first.layers.map((l) => l.written)).toEqual([true, true, true]); // base, snapshot, web's disk
    const inspected = JSON.parse(skopeo(['inspect', `oci:${layout}:web`])) as { Digest: string; Layers: string[]; Labels: Record<string, string> };
    expect(inspected.Layers).toHaveLength(3);
    expect(inspected.Labels['org.forkpoint.box.id']).toBe('web');
    const before = blobs(layout);
    const second = JSON.parse(await cli(homeA, ['--json', 'box', 'export', 'web2', layout])) as { layers: { written: boolean }[] };
    expect(second.layers[0]!.written, 'the shared base is not written again').toBe(false);
    expect(blobs(layout) - before, 'new blobs: its new layers, a config and a manifest').toBe(second.layers.filter((l) => l.written).length + 2);
    await cli(homeA, ['snapshot', 'export', 'web', 's1', layout]);

    const port = await startRegistry(dir);
    for (const tag of ['web', 'web2', 'web-s1']) {
      skopeo(['copy', `oci:${layout}:${tag}`, `docker://127.0.0.1:${port}/forkpoint/boxes:${tag}`, '--dest-tls-verify=false']);
      skopeo(['copy', `docker://127.0.0.1:${port}/forkpoint/boxes:${tag}`, `oci:${back}:${tag}`, '--src-tls-verify=false']);
    }

    // skopeo moved the image unchanged: the same manifest, hence the same layer digests.
    expect((JSON.parse(skopeo(['inspect', `oci:${back}:web`])) as { Digest: string }).Digest).toBe(inspected.Digest);
    await cli(homeB, ['box', 'import', `${back}:web`, 'w1']);
    const w2 = JSON.parse(await cli(homeB, ['--json', 'box', 'import', `${back}:web2`, 'w2'])) as { layers: { reused: boolean }[] };
    expect(w2.layers.map((l) => l.reused), 'the base imported with w1 is reused').toEqual([true]);
    await cli(homeB, ['box', 'import', `${back}:web-s1`, 's1copy']);
    const b = homeLayout(homeB);
    const snapshotOfA = JSON.parse(await cli(homeA, ['--json', 'snapshot', 'ls', 'web'])) as { basePath: string }[];
    for (const [box, source] of [['w1', boxDiskPath(a, 'web')], ['w2', boxDiskPath(a, 'web2')], ['s1copy', snapshotOfA[0]!.basePath]] as const) {
      const disk = boxDiskPath(b, box);
      expect(qemuCheck(disk).status, `${box} check`).toBe(0);
      expect(qemuCompare(disk, source).status, `${box} reads what it was exported from`).toBe(0);
    }
    expect(JSON.parse(await cli(homeB, ['--json', 'check'])).problems).toEqual([]);
  });
});
