/**
 * Output is never cut off: into a pipe whose reader is slower than the CLI,
 * what did not fit the pipe's 64 KiB buffer was still queued in the process
 * when it exited, and was dropped (exit status 0). The reader here sleeps
 * before it reads anything, as `| python3 -m json.tool` on a busy machine does.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openInProcess } from '../../src/workers/in-process.js';
import { BIN, cliEnv, REPO_ROOT } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-pipe-');

describe('cli: output into a pipe', () => {
  it('box ls --json of 3000 boxes arrives whole through a pipe read late', { timeout: 120_000 }, async () => {
    const home = join(tmp(), 'home');
    const d = openInProcess(home, { fsync: false });
    try {
      for (let i = 0; i < 3000; i++) await d.run('box-create', { op: `mk-${i}`, boxId: `box-with-a-long-name-${i}`, sizeBytes: 1 << 20 });
    } finally {
      d.close();
    }
    const r = spawnSync('sh', ['-c', 'node "$0" --home "$1" --json box ls | (sleep 1; cat)', BIN, home], { cwd: REPO_ROOT, env: cliEnv(), encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(4 * 65_536); // far past one pipe buffer, or this proves nothing
    const listed = JSON.parse(r.stdout) as unknown;
    const boxes = Array.isArray(listed) ? listed : (listed as { boxes: unknown[] }).boxes;
    expect(boxes).toHaveLength(3000);

    // A reader that stops early (head) closes the pipe: the command ends quietly, no EPIPE stack trace.
    const early = spawnSync('bash', ['-c', 'node "$0" --home "$1" --json box ls 2>"$2" | head -c 100 >/dev/null; echo "${PIPESTATUS[0]}"; cat "$2"', BIN, home, join(home, '..', 'stderr.txt')], {
      cwd: REPO_ROOT,
      env: cliEnv(),
      encoding: 'utf8',
    });
    expect(early.stdout).toBe('0\n');
  });
});
