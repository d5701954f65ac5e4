/**
 * flushFilesystemOf: a syncfs through one long-lived helper per folder (no fork of this process per
 * flush). It is reused, runs in its own process group, keeps no process alive, names a folder it
 * cannot flush, reports sync's own failure, and a helper that dies (or is killed with flushes
 * owed) costs no flush: they are made by a one-off `sync -f`. Closed (the file runner's close), every
 * helper answers what it was asked and exits: its working folder would keep the filesystem busy.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { closeFlushers, flushFilesystemOf, flushHelperPid } from '../../src/qcow2/filesystem-flusher.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-flusher-');
const processGroupOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('flushFilesystemOf', () => {
  const path = process.env.PATH;
  afterEach(() => {
    process.env.PATH = path;
  });

  it('flushes through one helper per folder, reused, in its own process group', async () => {
    const dir = tmp();
    await flushFilesystemOf(dir);
    const pid = flushHelperPid(dir)!;
    expect(pid).toEqual(expect.any(Number));
    await Promise.all(Array.from({ length: 5 }, () => flushFilesystemOf(dir)));
    expect(flushHelperPid(dir)).toBe(pid);
    expect(processGroupOf(pid)).toBe(pid); // a terminal's Ctrl-C reaches us, not it
  });

  it('a helper killed, idle or with flushes owed, costs no flush', async () => {
    const dir = tmp();
    await flushFilesystemOf(dir);
    const first = flushHelperPid(dir)!;
    process.kill(first, 'SIGKILL');
    await expect.poll(() => flushHelperPid(dir)).toBeUndefined();
    await flushFilesystemOf(dir); // a new helper
    const second = flushHelperPid(dir)!;
    expect(second).not.toBe(first);
    // Killed right after the requests went out: whether it answered some or none, every one settles.
    const owed = Array.from({ length: 3 }, () => flushFilesystemOf(dir));
    process.kill(second, 'SIGKILL');
    await expect(Promise.all(owed)).resolves.toHaveLength(3);
    expect(alive(second)).toBe(false);
  });

  it('closeFlushers: owed flushes are answered, then every helper has exited; a later flush starts a new one', async () => {
    const dir = tmp();
    await flushFilesystemOf(dir);
    const pid = flushHelperPid(dir)!;
    const owed = Array.from({ length: 3 }, () => flushFilesystemOf(dir));
    await closeFlushers();
    await expect(Promise.all(owed)).resolves.toHaveLength(3);
    expect(alive(pid)).toBe(false); // exited by the time close resolved, not later
    expect(flushHelperPid(dir)).toBeUndefined();
    await flushFilesystemOf(dir);
    expect(flushHelperPid(dir)).not.toBe(pid);
    await closeFlushers();
  });

  it('names a folder it cannot flush (E_IO)', async () => {
    const missing = join(tmp(), 'gone');
    await expect(flushFilesystemOf(missing)).rejects.toMatchObject({ code: ErrorCodes.IO, details: { path: missing }, message: expect.stringContaining(missing) });
  });

  it('reports sync’s own failure (a write-back error), with its message', async () => {
    const bin = tmp();
    writeFileSync(join(bin, 'sync'), '#!/bin/sh\necho "sync: error syncing \'.\': Input/output error" >&2\nexit 1\n');
    chmodSync(join(bin, 'sync'), 0o755);
    process.env.PATH = `${bin}:${path}`; // a new folder's helper starts with it
    const dir = tmp();
    await expect(flushFilesystemOf(dir)).rejects.toMatchObject({ code: ErrorCodes.IO, details: { path: dir }, message: expect.stringContaining('Input/output error') });
    expect(flushHelperPid(dir)).toEqual(expect.any(Number)); // the helper said so; it did not die
  });

  it('keeps no process alive: a script that flushes once exits by itself', () => {
    const dir = tmp();
    const module = resolve(import.meta.dirname, '../../dist/qcow2/filesystem-flusher.js');
    const script = `import(${JSON.stringify(module)}).then((m) => m.flushFilesystemOf(${JSON.stringify(dir)})).then(() => console.log('flushed'))`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.signal).toBeNull(); // not killed by the timeout: it ended on its own
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('flushed');
  });
});
