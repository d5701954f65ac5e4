/** assertImageNotInUse: an image QEMU holds open for writing is reported as in use. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { assertImageNotInUse } from '../../src/qcow2/index.js';
import { qemuCreate } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { expectImageError } from './helpers.js';

const tmp = useTmpDirs('fp-lock-');

describe('assertImageNotInUse', () => {
  it('passes on an idle image', () => {
    const img = join(tmp(), 'idle.qcow2');
    qemuCreate(img, { size: '1M' });
    expect(() => assertImageNotInUse(img)).not.toThrow();
  });

  it('refuses an image an interactive qemu-io holds open read-write', async () => {
    const img = join(tmp(), 'busy.qcow2');
    qemuCreate(img, { size: '1M' });
    const holder = spawn('qemu-io', ['-f', 'qcow2', img], { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      // The prompt appears once the image is open (and locked).
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (d: Buffer) => d.toString().includes('qemu-io>') && resolve());
        holder.on('exit', () => reject(new Error('qemu-io exited early')));
      });
      expectImageError(() => assertImageNotInUse(img), ErrorCodes.IMAGE_IN_USE, img);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
