/**
 * The swap race (TOCTOU) on imports: the job checks a named file against the
 * import folders, then reads it. A local user who owns a file (or a folder) in
 * an import folder swaps it right after the check (here: a hook at the point
 * between check and read, running the swap as user nobody with setpriv) for a
 * symlink to a root-only file. The job must refuse (E_FORBIDDEN naming the
 * name it was given) and none of the secret's bytes may reach the home: the
 * readers open each layer once and check the file they opened, then read
 * through that same fd.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ForkpointError } from '../../src/errors.js';
import { armHook, disarmFaults } from '../../src/faults.js';
import { goldenImage } from '../helpers/pipeline.js';
import { rawExt4Image } from '../helpers/qemu.js';
import { newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const MARKER = Buffer.from('root-only-secret-bytes-0123456789:');

afterEach(() => disarmFaults());

/** Every file under `dir` holding `needle`, relative. */
function filesHolding(dir: string, needle: Buffer): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath, e.name);
    if (e.isFile() && readFileSync(p).includes(needle)) out.push(p);
  }
  return out;
}

/** Write MARKER many times at `offset` of an existing file. */
function plantMarker(path: string, offset: number): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.concat(Array.from({ length: 1024 }, () => MARKER)), 0, undefined, offset);
  closeSync(fd);
}

/** The swap, as the hostile user: a symlink renamed over `victim` (rename(2) is atomic, the name is never missing). */
function swapAsNobody(victim: string, target: string): void {
  const r = spawnSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', 'sh', '-c', 'ln -s "$1" "$2.new" && mv -T "$2.new" "$2"', 'sh', target, victim], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

/** As the hostile user: move `folder` aside and put a link to `target` in its place. */
function swapFolderAsNobody(folder: string, target: string): void {
  const r = spawnSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', 'sh', '-c', 'mv "$1" "$1.old" && ln -s "$2" "$1"', 'sh', folder, target], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

/** The user's chain in `mine`: top.qcow2 → layers/base.raw (1 MiB), or with `mid` top.qcow2 → layers/mid.qcow2 → layers/base.raw. */
function userChain(mine: string, o: { mid?: boolean } = {}): { layers: string; base: string; mid: string; top: string } {
  const layers = join(mine, 'layers');
  mkdirSync(layers);
  const base = join(layers, 'base.raw');
  execFileSync('qemu-img', ['create', '-q', '-f', 'raw', base, '1M']);
  const mid = join(layers, 'mid.qcow2');
  if (o.mid) execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', base, mid]);
  const top = join(mine, 'top.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', ...(o.mid ? ['-F', 'qcow2', '-b', mid] : ['-F', 'raw', '-b', base]), top]);
  return { layers, base, mid, top };
}

/** An import folder with a subfolder the hostile user owns, and a root-only folder outside. */
function setting(home: string): { imports: string; mine: string; secretDir: string } {
  const imports = join(home, '..', `imports-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  const mine = join(imports, 'nobody');
  mkdirSync(mine, { recursive: true });
  chmodSync(imports, 0o755);
  chownSync(mine, NOBODY, NOBODY);
  const secretDir = join(home, '..', `root-only-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(secretDir, { mode: 0o700 });
  chmodSync(join(home, '..'), 0o755); // nobody may reach the import folder
  return { imports, mine, secretDir };
}

function refusal(err: unknown): ForkpointError {
  expect(err).toBeInstanceOf(ForkpointError);
  return err as ForkpointError;
}

describe.skipIf(!isRoot)('imports: a name swapped between the check and the read is refused', () => {
  it('box create --from: the image itself swapped for a link to a root-only qcow2', async () => {
    const home = newHome();
    const { mine, secretDir } = setting(home);
    const raw = join(secretDir, 'marker.raw');
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', raw, '1M']);
    plantMarker(raw, 0);
    const secret = join(secretDir, 'secret.qcow2'); // a qcow2 whose guest data is the marker
    execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, secret]);
    chmodSync(secret, 0o600);
    const image = join(mine, 'disk.qcow2');
    goldenImage(image, 0x21);
    chownSync(image, NOBODY, NOBODY);

    const d = open(home, { importDirs: [join(mine, '..')] });
    let swapped = false;
    armHook('import:after-check', () => {
      swapAsNobody(image, secret);
      swapped = true;
    });
    const err = refusal(await d.run('box-create', { op: newOp('pwn'), boxId: 'pwn', fromImage: image }).catch((e: unknown) => e));
    expect(swapped).toBe(true);
    expect(err.code).toBe('E_FORBIDDEN');
    expect(err.details.path).toBe(image);
    expect(err.details.opened).toBe(secret);
    expect(existsSync(join(d.layout.boxesDir, 'pwn'))).toBe(false);
    expect(filesHolding(home, MARKER)).toEqual([]);
  });

  it('box create --from: a backing file swapped by renaming the folder it is in', async () => {
    const home = newHome();
    const { mine, secretDir } = setting(home);
    // The hostile user's chain, all inside.
    const { layers, base, top } = userChain(mine);
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, mine]);
    // What root alone can read, under the same file name.
    const secret = join(secretDir, 'base.raw');
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', secret, '1M']);
    plantMarker(secret, 4096);
    chmodSync(secret, 0o600);

    const d = open(home, { importDirs: [join(mine, '..')] });
    armHook('import:after-check', () => swapFolderAsNobody(layers, secretDir));
    const err = refusal(await d.run('box-create', { op: newOp('pwn'), boxId: 'pwn', fromImage: top }).catch((e: unknown) => e));
    expect(err.code).toBe('E_FORBIDDEN');
    expect(err.details.path).toBe(base);
    expect(err.details.opened).toBe(secret);
    expect(err.message).toContain('backing file');
    expect(existsSync(join(d.layout.boxesDir, 'pwn'))).toBe(false);
    expect(filesHolding(home, MARKER)).toEqual([]);
  });

  it("the check itself: a backing file swapped before its header is read; the root-only file's backing name is never told", async () => {
    const home = newHome();
    const { mine, secretDir } = setting(home);
    const { layers, mid, top } = userChain(mine, { mid: true });
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, mine]);
    // Root's own image under the same name: its header names a file whose name is a secret too.
    const hidden = join(secretDir, 'hidden-backing-name.raw');
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', hidden, '1M']);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', hidden, join(secretDir, 'mid.qcow2')]);
    chmodSync(join(secretDir, 'mid.qcow2'), 0o600);

    const d = open(home, { importDirs: [join(mine, '..')] });
    let swaps = 0;
    armHook('import:before-open', (path) => {
      if (path !== mid || swaps++ > 0) return; // checked by name already; its header is read next
      swapFolderAsNobody(layers, secretDir);
    });
    const err = refusal(await d.run('box-create', { op: newOp('pwn'), boxId: 'pwn', fromImage: top }).catch((e: unknown) => e));
    expect(swaps).toBe(1);
    expect(err.code).toBe('E_FORBIDDEN');
    expect(err.details.path).toBe(mid);
    expect(err.details.opened).toBe(join(secretDir, 'mid.qcow2'));
    expect(JSON.stringify(err)).not.toContain('hidden-backing-name');
    expect(err.message).not.toContain('hidden-backing-name');
    expect(existsSync(join(d.layout.boxesDir, 'pwn'))).toBe(false);
  });

  it('rootfs import: the raw image swapped for a link to a root-only ext4', async () => {
    const home = newHome();
    const { mine, secretDir } = setting(home);
    const image = rawExt4Image(join(mine, 'rootfs.ext4'), 16, 0x11);
    chownSync(image, NOBODY, NOBODY);
    const secret = rawExt4Image(join(secretDir, 'private.ext4'), 16, 0x33);
    plantMarker(secret, 8 << 20);
    chmodSync(secret, 0o600);

    const d = open(home, { importDirs: [join(mine, '..')] });
    armHook('import:after-check', () => swapAsNobody(image, secret));
    const err = refusal(await d.run('rootfs-import', { op: newOp('pwn'), key: 'pwn', image }).catch((e: unknown) => e));
    expect(err.code).toBe('E_FORBIDDEN');
    expect(err.details.path).toBe(secret); // the file it opened, named as the kernel sees it
    expect(readdirSync(d.layout.basesDir).filter((f) => !f.startsWith('.'))).toEqual([]);
    expect(filesHolding(home, MARKER)).toEqual([]);
  });

  it('no swap: the same chain is taken (the check is not what refuses)', async () => {
    const home = newHome();
    const { mine } = setting(home);
    const { base, top } = userChain(mine);
    plantMarker(base, 4096); // the user's own bytes: these must arrive
    const d = open(home, { importDirs: [join(mine, '..')] });
    let passed = false;
    armHook('import:after-check', () => (passed = true));
    await d.run('box-create', { op: newOp('ok'), boxId: 'ok', fromImage: top });
    expect(passed).toBe(true);
    expect(filesHolding(join(d.layout.boxesDir, 'ok'), MARKER)).toHaveLength(1);
    expect(statSync(join(d.layout.boxesDir, 'ok', 'disks', 'container.qcow2')).isFile()).toBe(true);
  });
});
