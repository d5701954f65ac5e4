/**
 * Hard links in import folders. Where the kernel protects hard links (Linux
 * fs.protected_hardlinks = 1, the default), a link proves its maker owns the
 * file or may read and write it, so the import readers take it. Where it does
 * not, anyone may link a root-only file into a folder of theirs, so a file with
 * more than one name is refused (E_FORBIDDEN, rule hard-link): a backing file
 * of `fromImage`, a rootfs image, a blob of an OCI layout. The sysctl is a
 * machine-wide setting, so the "off" case runs the built jobs (dist/) in a
 * private mount namespace where /proc/sys/fs/protected_hardlinks reads 0.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { exportFromHome } from '../../src/producers/oci-export.js';
import { rawExt4Image } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { makeBox, useHomes } from '../db/support/home.js';

const tmp = useTmpDirs('fp-hard-links-');
const { newHome, open } = useHomes();
const isRoot = process.getuid?.() === 0;
const canUnshare = isRoot && spawnSync('unshare', ['-m', 'true']).status === 0;

/** An import folder whose files are hard links to files outside it, and what to import from it. */
function setting(): { imports: string; jobs: { name: string; type: string; payload: Record<string, unknown> }[] } {
  const root = tmp();
  const imports = join(root, 'imports');
  const outside = join(root, 'outside');
  mkdirSync(imports);
  mkdirSync(outside, { mode: 0o700 });
  // fromImage: a qcow2 of the caller's whose backing file is a link to a raw file outside.
  const secret = join(outside, 'secret.raw');
  execFileSync('qemu-img', ['create', '-q', '-f', 'raw', secret, '1M']);
  linkSync(secret, join(imports, 'linked.raw'));
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', join(imports, 'linked.raw'), join(imports, 'top.qcow2')]);
  // rootfs: the image itself a link.
  linkSync(rawExt4Image(join(outside, 'root.ext4'), 16, 0x31), join(imports, 'root.ext4'));
  // OCI: a layout whose manifest blob is a link to a file outside.
  const a = open(newHome());
  makeBox(a, 'S', 0x42);
  const layout = join(imports, 'layout');
  const reader = openReader(a.layout.home);
  try {
    exportFromHome(reader, { boxId: 'S', dir: layout });
  } finally {
    reader.close();
  }
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const blob = join(layout, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7));
  linkSync(blob, join(outside, 'manifest-elsewhere'));
  return {
    imports,
    jobs: [
      { name: 'fromImage', type: 'box-create', payload: { op: 'h1', boxId: 'h1', fromImage: join(imports, 'top.qcow2') } },
      { name: 'rootfs', type: 'rootfs-import', payload: { op: 'h2', key: 'h2', image: join(imports, 'root.ext4') } },
      { name: 'oci', type: 'box-import', payload: { op: 'h3', boxId: 'h3', layout } },
    ],
  };
}

/** Run the jobs with the built in-process driver in a child process; `sysctl`: what protected_hardlinks reads there. */
function runJobs(home: string, imports: string, jobs: ReturnType<typeof setting>['jobs'], sysctl: '0' | null): Record<string, { ok: boolean; code?: string; rule?: string; path?: string }> {
  const script = `
    const { openInProcess } = await import(${JSON.stringify(resolve('dist/workers/in-process.js'))});
    const d = openInProcess(${JSON.stringify(home)}, { fsync: false, importDirs: [${JSON.stringify(imports)}] });
    const out = {};
    for (const j of ${JSON.stringify(jobs)}) {
      try { await d.run(j.type, j.payload); out[j.name] = { ok: true }; }
      catch (e) { out[j.name] = { ok: false, code: e.code, rule: e.details?.rule, path: e.details?.path, message: e.message }; }
    }
    d.close();
    process.stdout.write(JSON.stringify(out));`;
  const node = [process.execPath, '--input-type=module', '-e', script];
  const zero = join(tmp(), 'zero');
  writeFileSync(zero, '0\n');
  const r =
    sysctl === null
      ? spawnSync(node[0]!, node.slice(1), { encoding: 'utf8' })
      : spawnSync('unshare', ['-m', 'sh', '-c', `mount --bind "$0" /proc/sys/fs/protected_hardlinks && exec "$@"`, zero, ...node], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, { ok: boolean; code?: string; rule?: string }>;
}

describe.skipIf(!canUnshare)('imports: hard links', () => {
  it('are refused where the kernel lets anyone link any file, naming the file, and change nothing', () => {
    const { imports, jobs } = setting();
    const home = newHome();
    const got = runJobs(home, imports, jobs, '0');
    expect(got.fromImage).toMatchObject({ ok: false, code: 'E_FORBIDDEN', rule: 'hard-link', path: join(imports, 'linked.raw') });
    expect(got.rootfs).toMatchObject({ ok: false, code: 'E_FORBIDDEN', rule: 'hard-link', path: join(imports, 'root.ext4') });
    expect(got.oci).toMatchObject({ ok: false, code: 'E_FORBIDDEN', rule: 'hard-link' });
    expect(readdirSync(join(home, 'boxes'))).toEqual([]);
    expect(readdirSync(join(home, 'bases'))).toEqual([]);
  });

  it('are taken where the kernel protects hard links (the same files, the same jobs)', () => {
    expect(readFileSync('/proc/sys/fs/protected_hardlinks', 'utf8').trim(), 'this machine protects hard links').toBe('1');
    const { imports, jobs } = setting();
    const got = runJobs(newHome(), imports, jobs, null);
    expect(got).toEqual({ fromImage: { ok: true }, rootfs: { ok: true }, oci: { ok: true } });
  });
});
