/**
 * The CLI refuses early and clearly: usage errors exit 2, a bad id among good
 * ones changes nothing (not even the home), and a service whose Redis is gone
 * is reported at once (exit 3) instead of waited on.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { tryLockHome } from '../../src/runtime/home-lock.js';
import { boxDiskPath, homeLayout } from '../../src/layout.js';
import { readOrMintHomeId } from '../../src/runtime/home-id.js';
import { goldenImage, runCli } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-refuse-');

describe('cli: refusals', () => {
  it('usage errors (missing argument, unknown option or command) exit 2 with commander’s one-line message', async () => {
    for (const args of [['box', 'create'], ['--bogus'], ['no-such-command']]) {
      const r = await runCli(args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/^error: /);
    }
    expect((await runCli(['--help'])).status).toBe(0);
  });

  it('box import of an empty layout name, or of a file, exits 2 naming it (it read the current folder, or exited 1 with ENOTDIR)', async () => {
    const dir = tmp();
    const file = join(dir, 'index.json');
    writeFileSync(file, '{}');
    const home = join(dir, 'home');
    const empty = await runCli(['--home', home, '--redis', inject('redisUrl'), 'box', 'import', '', 'nb']);
    expect([empty.status, empty.stderr.trim()]).toEqual([2, 'forkpoint: layout "": no folder named [E_INVALID_ARGUMENT]']);
    const notAFolder = await runCli(['--home', home, '--redis', inject('redisUrl'), 'box', 'import', file, 'nb']);
    expect(notAFolder.status, notAFolder.stderr).toBe(2);
    expect(notAFolder.stderr.trim()).toBe(`forkpoint: cannot read OCI layout file ${file}/oci-layout: no such file or directory (a part of the path is a file, not a folder) [E_NOT_FOUND]`);
  });

  it('an unknown base kind exits 2 naming the kinds there are (it printed "no bases", exit 0)', async () => {
    const r = await runCli(['--home', tmp(), 'bases', 'ls', '--kind', 'foo']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/Allowed choices are snapshot, clone_base, rootfs/);
  });

  it('checks every id before doing anything: `box rm good ../bad` removes nothing and creates no home', async () => {
    const dir = tmp();
    const fresh = join(dir, 'never-made');
    const r = await runCli(['--home', fresh, 'box', 'rm', 'good', '../bad']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['forkpoint: invalid box id "../bad": must not start with "." [E_INVALID_NAME]']);
    expect(existsSync(fresh)).toBe(false);

    const home = join(dir, 'home');
    const redis = inject('redisUrl');
    expect((await runCli(['--home', home, '--redis', redis, 'box', 'create', 'good', '--from', goldenImage(join(dir, 'g.qcow2'), 0x21)])).status).toBe(0);
    expect((await runCli(['--home', home, '--redis', redis, 'box', 'rm', 'good', 'a/b'])).status).toBe(2);
    expect(existsSync(boxDiskPath(homeLayout(home), 'good'))).toBe(true);
  });

  it('reports a service whose Redis does not answer at once (exit 3), naming the home', async () => {
    const home = join(tmp(), 'home');
    mkdirSync(home);
    const lock = tryLockHome(homeLayout(home).runDir, {
      pid: process.pid,
      kind: 'serve',
      redisUrl: `unix://${join(home, 'run', 'gone.sock')}`,
      homeId: readOrMintHomeId(home),
      startedAt: new Date().toISOString(),
    })!;
    try {
      const r = await runCli(['--home', home, 'box', 'create', 'x', '--size', '1M'], { timeoutMs: 30_000 });
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/forkpoint serve \(pid \d+\) owns .*home, but its Redis at unix:.*gone\.sock does not answer/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      lock.release();
    }
  });
});
