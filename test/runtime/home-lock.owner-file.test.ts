/**
 * owner.json while its owner updates it (serve writes its Redis, then its HTTP URL): another
 * process reading it meanwhile always finds a whole owner, never an empty or cut-off file (a
 * command then said the home's owner file "names nobody" and waited).
 */
import { spawn } from 'node:child_process';
import { readdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isForkpointError } from '../../src/errors.js';
import { ownerNow, tryLockHome } from '../../src/runtime/home-lock.js';
import { isRoot, useTmpDirs, useTmpfs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-owner-file-');
const tmpfs = useTmpfs('fp-owner-file-full-');

/** A reader in another process: reads the file until told to stop, then says how many reads were whole. */
const READER = `
const fs = require('node:fs');
const file = process.argv[1];
let reads = 0, broken = 0, stop = false;
process.stdin.on('data', () => (stop = true));
process.stdout.write('ready\\n');
(function loop() {
  for (let i = 0; i < 200; i++) {
    reads++;
    try { if (typeof JSON.parse(fs.readFileSync(file, 'utf8')).pid !== 'number') broken++; } catch { broken++; }
  }
  if (stop) process.stdout.write(JSON.stringify({ reads, broken }) + '\\n'); else setImmediate(loop);
})();`;

describe('home lock: the owner file', () => {
  it('is always whole to a reader in another process while its owner updates it', async () => {
    const runDir = join(tmp(), 'run');
    const lock = tryLockHome(runDir, ownerNow('serve', 'h-1'))!;
    try {
      const reader = spawn(process.execPath, ['-e', READER, join(runDir, 'owner.json')], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      const lines = new Promise<string[]>((resolve) => reader.stdout.on('data', (d: Buffer) => ((out += d.toString()), out.split('\n').length > 2 && resolve(out.trim().split('\n')))));
      await new Promise<void>((resolve) => reader.stdout.once('data', () => resolve()));
      for (let i = 0; i < 200; i++) lock.update({ redisUrl: `unix:///tmp/redis-${i}.sock`, httpUrl: i % 2 ? `http://127.0.0.1:${1024 + i}` : undefined });
      reader.stdin.write('stop\n');
      const result = JSON.parse((await lines)[1]!) as { reads: number; broken: number };
      expect(result.reads).toBeGreaterThan(0);
      expect(result.broken).toBe(0);
      expect(statSync(join(runDir, 'owner.json')).mode & 0o777).toBe(0o600);
    } finally {
      lock.release();
    }
  });

  it.skipIf(!isRoot)('on a full disk: E_NO_SPACE naming it, nothing left aside, and the lock free again [root: tmpfs]', () => {
    const mnt = tmpfs('1m');
    const runDir = join(mnt, 'run');
    tryLockHome(runDir, ownerNow('cli', 'h-1'))!.release(); // the lock file made while there is room
    const { bavail, bsize } = statfsSync(mnt);
    const filler = join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc((Number(bavail) - 1) * Number(bsize))); // one block: the lock's journal takes it
    let caught: unknown;
    try {
      tryLockHome(runDir, ownerNow('cli', 'h-1'));
    } catch (err) {
      caught = err;
    }
    expect(isForkpointError(caught) && [caught.code, caught.message]).toEqual(['E_NO_SPACE', `cannot write the home's owner file ${join(runDir, 'owner.json')}: no space left on device`]);
    expect(readdirSync(runDir).filter((f) => f.startsWith('owner.json'))).toEqual([]);
    rmSync(filler);
    const again = tryLockHome(runDir, ownerNow('cli', 'h-1'));
    expect(again, 'the refused lock was not let go').not.toBeNull();
    again!.release();
  });
});
