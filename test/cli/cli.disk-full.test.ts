/**
 * A home on a full disk: a command that must take the home's lock says so in one typed line
 * (E_NO_SPACE, naming the lock), not "internal error" and a stack; once there is room, the same
 * command goes through. Needs root (a small tmpfs is the full disk).
 */
import { existsSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { cliEnv, readyBoxes, runCli, startServe, useCleanup } from '../helpers/pipeline.js';
import { isRoot, useTmpfs } from '../helpers/tmp.js';

const tmpfs = useTmpfs('fp-cli-full-');
const { killAtEnd } = useCleanup();

describe.skipIf(!isRoot)('cli: a home on a full disk (root: tmpfs)', () => {
  it('refuses with E_NO_SPACE naming the lock, one line; goes through once there is room', { timeout: 60_000 }, async () => {
    const mnt = tmpfs('16m');
    const home = join(mnt, 'home');
    const env = cliEnv({ REDIS_URL: inject('redisUrl') }); // the queue's Redis elsewhere: only the home is full
    expect((await runCli(['--home', home, 'box', 'create', 'src', '--size', '1M'], { env })).status).toBe(0);
    const { bavail, bsize } = statfsSync(mnt);
    const filler = join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(Number(bavail) * Number(bsize)));

    const full = await runCli(['--home', home, 'box', 'rm', 'src'], { env });
    expect(full.status, full.stderr).toBe(1);
    expect(full.stderr).toBe(`forkpoint: cannot take the home's lock ${join(home, 'run', 'owner.lock')}: no space left on device [E_NO_SPACE]\n`);
    expect(readyBoxes(home)).toBe(1);

    rmSync(filler);
    const room = await runCli(['--home', home, 'box', 'rm', 'src'], { env });
    expect(room.status, room.stderr).toBe(0);
    expect(readyBoxes(home)).toBe(0);
  });

  it('through serve: the request a command writes down first is refused with E_NO_SPACE, one line, and no empty request file is left', { timeout: 60_000 }, async () => {
    const mnt = tmpfs('16m');
    const home = join(mnt, 'home');
    const env = cliEnv({ REDIS_URL: inject('redisUrl') });
    expect((await runCli(['--home', home, 'box', 'create', 'src', '--size', '1M'], { env })).status).toBe(0);
    const serve = killAtEnd(await startServe(home, inject('redisUrl')));
    const { bavail, bsize } = statfsSync(mnt);
    const filler = join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(Number(bavail) * Number(bsize)));

    const full = await runCli(['--home', home, 'clone', 'src', '--count', '2', '--prefix', 'f-'], { env });
    expect(full.status, full.stderr).toBe(1);
    expect(full.stderr).toMatch(/^forkpoint: cannot write down the request \S+: no space left on device \[E_NO_SPACE\]\n$/);
    const requests = join(home, 'run', 'requests');
    expect(existsSync(requests) ? readdirSync(requests) : []).toEqual([]);

    rmSync(filler);
    const room = await runCli(['--home', home, 'clone', 'src', '--count', '2', '--prefix', 'f-'], { env });
    expect(room.status, room.stderr).toBe(0);
    expect(readyBoxes(home)).toBe(3);
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toEqual({ code: 0, signal: null });
  });
});
