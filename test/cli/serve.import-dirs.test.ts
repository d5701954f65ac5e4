/**
 * `serve --import-dir` refuses, at start and naming the folder (E_INVALID_ARGUMENT, exit 2,
 * before the home is locked or anything listens), an import folder that would let a request read
 * what it must not: `/`, a folder that contains the home or is inside it (other than
 * `<home>/import`), one that does not exist, a folder others may write without the sticky bit, or
 * one below such a folder.
 * A private folder, a sticky shared one and `<home>/import` start as usual. Built CLI (dist/).
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-import-dirs-');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** serve with these flags; stopped with SIGTERM once it prints its URL (then it started). */
function serve(home: string, args: string[], env: Record<string, string> = {}): Promise<Run & { started: boolean }> {
  const e = { ...process.env, FORKPOINT_HOME: home, REDIS_URL: inject('redisUrl'), FORKPOINT_POOL_SIZE: '1', ...env } as NodeJS.ProcessEnv;
  delete e.FORKPOINT_TOKEN;
  if (!('FORKPOINT_IMPORT_DIRS' in env)) delete e.FORKPOINT_IMPORT_DIRS;
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['bin/forkpoint.js', 'serve', '--port', '0', '--json', ...args], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let started = false;
    proc.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (!started && stdout.includes('"url"')) {
        started = true;
        proc.kill('SIGTERM');
      }
    });
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    proc.once('error', reject);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, started });
    });
  });
}

function refusedLine(r: Run): string {
  const lines = r.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('{'));
  expect(lines, r.stderr).toHaveLength(1);
  return lines[0]!;
}

describe('serve --import-dir: folders that are refused at start', () => {
  const cases: { what: string; dir: (home: string, parent: string) => string; says: string }[] = [
    { what: '/', dir: () => '/', says: 'the whole file system' },
    { what: 'the home itself', dir: (home) => home, says: 'contains the home' },
    { what: 'a folder that contains the home', dir: (_home, parent) => parent, says: 'contains the home' },
    { what: "the home's bases/", dir: (home) => join(home, 'bases'), says: 'inside the home' },
    { what: 'a folder that does not exist', dir: (_h, parent) => join(parent, 'not-yet'), says: 'does not exist' },
    {
      what: 'a folder others may write, no sticky bit',
      dir: (_h, parent) => {
        const d = join(parent, 'shared');
        mkdirSync(d);
        chmodSync(d, 0o777);
        return d;
      },
      says: 'mode 777',
    },
    {
      what: 'a private folder below a group-writable one',
      dir: (_h, parent) => {
        const d = join(parent, 'drop', 'mine');
        mkdirSync(d, { recursive: true });
        chmodSync(join(parent, 'drop'), 0o775);
        return d;
      },
      says: `the folder`,
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.what}, naming it (exit 2), before the home is locked`, async () => {
      const parent = tmp();
      chmodSync(parent, 0o755);
      const home = join(parent, 'home');
      const dir = c.dir(home, parent);
      const r = await serve(home, ['--import-dir', dir]);
      expect(r.started).toBe(false);
      expect(r.code, r.stderr).toBe(2);
      const line = refusedLine(r);
      expect(line).toContain('E_INVALID_ARGUMENT');
      expect(line).toContain(`import folder ${dir}`);
      expect(line).toContain(c.says);
      expect(existsSync(join(home, 'run', 'owner.json'))).toBe(false);
    });
  }

  it('refuses one bad folder among good ones, from FORKPOINT_IMPORT_DIRS too', async () => {
    const parent = tmp();
    const good = join(parent, 'good');
    mkdirSync(good, { mode: 0o700 });
    const r = await serve(join(parent, 'home'), [], { FORKPOINT_IMPORT_DIRS: `${good}:/` });
    expect(r.code, r.stderr).toBe(2);
    expect(refusedLine(r)).toContain('import folder /:');
  });
});

describe('serve --import-dir: folders that are taken', () => {
  it('starts with a private folder, a sticky shared one and <home>/import', async () => {
    const parent = tmp();
    chmodSync(parent, 0o755);
    const home = join(parent, 'home');
    const mine = join(parent, 'images');
    mkdirSync(mine, { mode: 0o700 });
    const sticky = join(parent, 'drop');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    writeFileSync(join(mine, 'x.qcow2'), '');
    const r = await serve(home, ['--import-dir', mine, sticky, join(home, 'import')]);
    expect(r.started, r.stderr).toBe(true);
    expect(r.code, r.stderr).toBe(0);
  });
});
