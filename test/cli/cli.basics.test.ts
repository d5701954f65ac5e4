/** The built CLI: help, --json output, bad input (exit 2, one line, nothing changed), gc --dry-run vs gc. */
import { mkdtempSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openWriter } from '../../src/db/writer.js';
import { boxDir, homeLayout } from '../../src/layout.js';
import { goldenImage, runCli } from '../helpers/pipeline.js';

/** Files (bases, boxes) with sizes, and the records as the CLI lists them: what bad input must not change. */
async function homeState(home: string, run: (args: string[]) => ReturnType<typeof runCli>) {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(`${p}:${statSync(p).size}`);
    }
  };
  walk(join(home, 'bases'));
  walk(join(home, 'boxes'));
  const boxes = JSON.parse((await run(['--json', 'box', 'ls'])).stdout) as unknown[];
  const bases = JSON.parse((await run(['--json', 'bases', 'ls', '--all'])).stdout) as unknown[];
  return { files: files.sort(), boxes, bases };
}

describe('cli: help', () => {
  it('--help of the program and of each command group exits 0 and lists the commands', async () => {
    const cases: [string[], string[]][] = [
      [['--help'], ['box', 'clone', 'snapshot', 'bases', 'tree', 'gc', 'check', 'serve']],
      [['box', '--help'], ['create', 'rm', 'ls']],
      [['snapshot', '--help'], ['create', 'ls', 'rm', 'clone']],
      [['bases', '--help'], ['ls']],
      [['clone', '--help'], ['--count', '--prefix']],
      [['gc', '--help'], ['--dry-run']],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCli(args)));
    runs.forEach((r, i) => {
      const [args, words] = cases[i]!;
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      for (const w of words) expect(r.stdout, `${args.join(' ')} lists ${w}`).toMatch(new RegExp(`^\\s+${w.replace(/[-]/g, '\\-')}\\b`, 'm'));
    });
  });

  it('a usage error is exit 2, and with --json an E_INVALID_ARGUMENT document on stdout naming it', async () => {
    const cases: [string[], string, string][] = [
      [['bogus-command'], 'unknownCommand', "unknown command 'bogus-command'"],
      [['box', 'create'], 'missingArgument', 'missing required argument'],
      [['box', 'create', 'x', '--size', '1G', '--bogus'], 'unknownOption', "unknown option '--bogus'"],
      [['--timeout', '0', 'box', 'ls'], 'invalidArgument', "'--timeout <seconds>' argument '0' is invalid"],
    ];
    for (const [args, usage, message] of cases) {
      const plain = await runCli(args);
      expect([plain.status, plain.stdout], args.join(' ')).toEqual([2, '']);
      expect(plain.stderr).toContain(message);
      const json = await runCli(['--json', ...args]);
      expect(json.status, args.join(' ')).toBe(2);
      expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'E_INVALID_ARGUMENT', message: expect.stringContaining(message), details: { usage } } });
    }
    // A `--json` after `--` is an argument, not the flag: no JSON for it.
    expect((await runCli(['bogus', '--', '--json'])).stdout).toBe('');
  });
});

describe('cli: a home through the CLI (embedded pipeline on the test Redis)', () => {
  let home: string;
  let golden: string;
  const fp = (args: string[]) => runCli(['--home', home, '--redis', inject('redisUrl'), ...args]);

  let dir: string;
  // One home for the tests of this group, in order (useTmpDirs would remove it after the first).
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'fp-cli-')));
    home = join(dir, 'home');
    golden = goldenImage(join(dir, 'golden.qcow2'), 0x19);
    const r = await fp(['box', 'create', 'src', '--from', golden]);
    expect(r.status, r.stderr).toBe(0);
  });

  it('prints JSON that parses for clone, snapshot create/ls, box ls, bases ls, tree, gc --dry-run', async () => {
    const clone = await fp(['--json', 'clone', 'src', 'j1', 'j2']);
    expect(clone.status, clone.stderr).toBe(0);
    const cloned = JSON.parse(clone.stdout) as { baseId: string; targets: string[] };
    expect(cloned.targets).toEqual(['j1', 'j2']);
    const snap = await fp(['--json', 'snapshot', 'create', 'src', 'pin']);
    expect(snap.status, snap.stderr).toBe(0);
    expect(JSON.parse(snap.stdout)).toMatchObject({ boxId: 'src', name: 'pin' });

    const [boxLs, basesLs, tree, snapLs, dry] = await Promise.all([
      fp(['--json', 'box', 'ls']),
      fp(['--json', 'bases', 'ls']),
      fp(['--json', 'tree']),
      fp(['--json', 'snapshot', 'ls']),
      fp(['--json', 'gc', '--dry-run']),
    ]);
    for (const r of [boxLs, basesLs, tree, snapLs, dry]) expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(boxLs.stdout) as { id: string }[]).map((b) => b.id).sort()).toEqual(['j1', 'j2', 'src']);
    expect((JSON.parse(basesLs.stdout) as { id: string }[]).map((b) => b.id)).toContain(cloned.baseId);
    expect(JSON.parse(tree.stdout)).toHaveProperty('totals');
    expect((JSON.parse(snapLs.stdout) as { name: string }[]).map((s) => s.name)).toEqual(['pin']);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, bases: [], reclaimableBytes: 0 });
  });

  it('refuses bad input with one line on stderr and exit code 2, changing nothing', async () => {
    const before = await homeState(home, fp);
    const bad: string[][] = [
      ['box', 'create', '../x', '--size', '1G'],
      ['box', 'create', '.hidden', '--size', '1G'],
      ['clone', 'missing', '--count', '2'],
      ['clone', 'src', '--count', '0'],
      ['snapshot', 'create', 'src', 'a/b'],
      ['snapshot', 'clone', 'no-such-snap', 'x1'],
      ['box', 'rm', 'no-such-box'],
    ];
    for (const args of bad) {
      const r = await fp(args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, `${args.join(' ')}: ${r.stderr}`).toHaveLength(1);
      expect(lines[0]).toMatch(/^forkpoint: .+ \[E_[A-Z_]+\]$/);
      expect(r.stdout).toBe('');
    }
    expect(await homeState(home, fp)).toEqual(before);
  });

  it('gc --dry-run reports the bytes that gc then reclaims', async () => {
    // Garbage as a lost GC request leaves it (Redis gone between the removal and its GC job): records dropped
    // straight through the writer, no GC enqueued. Only the sweep that `gc` runs can find it.
    const made = await fp(['box', 'create', 'gone', '--from', golden]);
    expect(made.status, made.stderr).toBe(0);
    const r0 = await fp(['--json', 'clone', 'gone', 'z1', 'z2']);
    expect(r0.status, r0.stderr).toBe(0);
    const { baseId } = JSON.parse(r0.stdout) as { baseId: string };
    const writer = openWriter(home);
    try {
      for (const id of ['z1', 'z2', 'gone']) {
        writer.apply({ type: 'removeBox', op: `test-rm-${id}`, boxId: id });
        writer.apply({ type: 'finishRemoveBox', boxId: id });
      }
    } finally {
      writer.close();
    }
    for (const id of ['z1', 'z2', 'gone']) rmSync(boxDir(homeLayout(home), id), { recursive: true, force: true });

    const dry = await fp(['--json', 'gc', '--dry-run']);
    expect(dry.status, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as { bases: string[]; reclaimableBytes: number };
    // Nothing reads the clone base of the removed boxes any more; everything else is read by src.
    expect(plan.bases).toEqual([baseId]);
    expect(plan.reclaimableBytes).toBeGreaterThan(0);

    const gc = await fp(['--json', 'gc']);
    expect(gc.status, gc.stderr).toBe(0);
    expect(JSON.parse(gc.stdout)).toMatchObject({ dryRun: false, collected: 1, reclaimedBytes: plan.reclaimableBytes });
    expect(readdirSync(join(home, 'bases'))).not.toContain(`${baseId}.qcow2`);
    const after = await fp(['--json', 'gc', '--dry-run']);
    expect(JSON.parse(after.stdout)).toMatchObject({ bases: [], reclaimableBytes: 0 });
  });
});
