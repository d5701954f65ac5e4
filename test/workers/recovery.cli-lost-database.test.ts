/**
 * The issue through the command line (run in this process, from the
 * sources): on a home whose database was deleted, `forkpoint check` reports
 * it (exit 1) instead of "consistent", `check --repair` and a mutating
 * command refuse it (exit 1, one line naming the way out) without making a
 * database or removing a file, and `check --rebuild` brings the records back
 * from the files, after which `check` is clean. `check --purge-trash` empties
 * the trash.
 */
import { existsSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { main } from '../../src/producers/cli/main.js';
import { homeLayout } from '../../src/layout.js';
import { recover, trashDir } from '../../src/workers/recovery/index.js';
import { ageFiles, filesOf, recordsOf } from '../db/support/files.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

/** Run the CLI in this process; its stdout, stderr and exit code. */
async function cli(home: string, ...args: string[]): Promise<{ stdout: string; stderr: string; status: number }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  process.exitCode = undefined;
  try {
    await main(['node', 'forkpoint', '--home', home, ...args]);
  } finally {
    vi.restoreAllMocks();
  }
  const status = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { stdout, stderr, status };
}

async function issueHome(): Promise<{ home: string; snapshotId: string }> {
  const home = newHome();
  const d = open(home);
  makeBox(d, 'web');
  const { baseId } = (await d.run('snapshot-create', { op: newOp('snap'), boxId: 'web', name: 'golden' })).result;
  await d.run('remove-box', { op: newOp('rm'), boxId: 'web' });
  d.close();
  ageFiles(home);
  for (const suffix of ['', '-wal', '-shm']) rmSync(homeLayout(home).dbPath + suffix, { force: true });
  return { home, snapshotId: baseId };
}

describe('cli: check on a home whose database was deleted', () => {
  it('check reports, --repair and box create refuse, --rebuild restores the records; no file is removed', async () => {
    const { home, snapshotId } = await issueHome();
    const { dbPath } = homeLayout(home);
    const files = filesOf(home);

    const report = await cli(home, 'check');
    expect(report.status).toBe(1);
    expect(report.stdout).not.toContain('consistent');
    expect(report.stdout).toContain(`forkpoint --home ${home} check --rebuild`);
    const json = JSON.parse((await cli(home, '--json', 'check')).stdout);
    expect(json.problems).toEqual([expect.objectContaining({ path: dbPath, code: 'E_DB_MISSING' })]);

    const repair = await cli(home, 'check', '--repair');
    expect(repair.status).toBe(1);
    expect(repair.stderr).toMatch(/^forkpoint: home .* but no database: .* check --rebuild \[E_DB_MISSING\]\n$/);
    // The next mutating command: its pipeline's start-up recovery refuses the home before anything else.
    const create = await cli(home, '--redis', inject('redisUrl'), 'box', 'create', 'other', '--size', '1M');
    expect(create.status, create.stderr).toBe(1);
    expect(create.stderr).toContain('[E_DB_MISSING]');
    // Read commands too: "no boxes" from a home full of files would be a lie.
    for (const read of [['box', 'ls'], ['tree'], ['bases', 'ls']]) {
      const r = await cli(home, ...read);
      expect([r.status, r.stderr.includes('[E_DB_MISSING]')], `${read.join(' ')}: ${r.stdout}${r.stderr}`).toEqual([1, true]);
    }
    expect(existsSync(dbPath)).toBe(false);
    expect(filesOf(home)).toEqual(files);

    const both = await cli(home, 'check', '--repair', '--rebuild');
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('[E_INVALID_ARGUMENT]');

    const rebuilt = await cli(home, '--json', 'check', '--rebuild');
    expect(rebuilt.status, rebuilt.stderr).toBe(0);
    expect(JSON.parse(rebuilt.stdout).bases).toEqual([expect.objectContaining({ id: snapshotId, kind: 'snapshot', name: `recovered-${snapshotId}` })]);
    expect(recordsOf(home)!.bases).toEqual([expect.objectContaining({ id: snapshotId, kind: 'snapshot', state: 'ready' })]);
    expect(filesOf(home)).toEqual(files);

    const clean = await cli(home, 'check');
    expect(clean.stdout).toContain('consistent, nothing to recover');
    expect(clean.status).toBe(0);
    expect((await cli(home, 'check', '--rebuild')).stderr).toContain('[E_ALREADY_EXISTS]');
  });

  it('check --purge-trash deletes what recovery put in the trash, and only that', async () => {
    const home = newHome();
    open(home).close();
    const orphan = join(home, 'bases', 'Orphan01.qcow2');
    writeFileSync(orphan, 'x');
    const old = (Date.now() - 2 * 24 * 3600 * 1000) / 1000;
    utimesSync(orphan, old, old);
    const entry = (await recover(home, { fsync: false })).problems[0]!.trashedTo!;
    expect(existsSync(entry)).toBe(true);
    expect((await cli(home, 'check')).stdout).toContain('trash/: 1 file(s), 1 bytes');

    const purged = await cli(home, 'check', '--purge-trash');
    expect(purged.status, purged.stderr).toBe(0);
    expect(purged.stdout).toContain(`purged 1 file(s) from trash/\n  ${entry} (was ${orphan})`);
    expect(filesOf(home, ['trash'])).toEqual({});
    expect(existsSync(trashDir(homeLayout(home)))).toBe(true);
    expect((await cli(home, 'check', '--purge-trash')).stdout).toContain('trash/ is empty');
  });
});
