/**
 * issue 11 §7: progress shows the phase the job reports ("forking", "writing children"),
 * a rate and an ETA measured over the current phase; `--progress json` gives one JSON line
 * per update on stderr (also with --json, whose stdout stays one JSON document); `--quiet`
 * silences it; into a pipe with no flag there is none. The meter is tested with given
 * timestamps (no clocks), the CLI through a real clone.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { ProgressMeter, formatEta, formatRate, progressMode } from '../../src/producers/cli/progress.js';
import { REPO_ROOT, cliEnv, redisServersOn, runCli, useRedisServerCleanup } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-progress-');
const stopRedisOn = useRedisServerCleanup();

describe('cli progress: the meter', () => {
  it('measures rate and ETA over the current phase only', () => {
    const m = new ProgressMeter('cloning');
    expect(m.read({ done: 0, total: 100, phase: 'forking' }, 1_000)).toEqual({ phase: 'forking', done: 0, total: 100, rate: null, etaSeconds: null });
    // The fork took 9 s: that is not a slow rate of children.
    expect(m.read({ done: 0, total: 100, phase: 'writing children' }, 10_000).rate).toBeNull();
    expect(m.read({ done: 50, total: 100, phase: 'writing children' }, 12_000)).toEqual({ phase: 'writing children', done: 50, total: 100, rate: 25, etaSeconds: 2 });
    // A job that reports no phase gets the command's label.
    expect(new ProgressMeter('removing').read({ done: 1, total: 2 }, 0).phase).toBe('removing');
  });
  it('formats rates and ETAs for people', () => {
    expect([formatRate(null), formatRate(0.44), formatRate(35.2), formatRate(1234)]).toEqual(['-/s', '0.4/s', '35/s', '1.2k/s']);
    expect([formatEta(null), formatEta(7.2), formatEta(62), formatEta(3723)]).toEqual(['ETA -', 'ETA 0:08', 'ETA 1:02', 'ETA 1:02:03']);
  });
  it('chooses the mode: --quiet wins, then --progress, then a bar only on a terminal without --json', () => {
    expect(progressMode({ quiet: true, progress: 'json' }, true)).toBe('none');
    expect(progressMode({ progress: 'json', json: true }, false)).toBe('json');
    expect(progressMode({}, true)).toBe('bar');
    expect(progressMode({ json: true }, true)).toBe('none');
    expect(progressMode({}, false)).toBe('none');
  });
});

describe('cli progress: through a clone', () => {
  it('--progress json prints the phases and counts on stderr; --quiet and a pipe print none', { timeout: 60_000 }, async () => {
    const home = join(tmp(), 'home');
    const fp = (args: string[]) => runCli(['--home', home, '--redis', inject('redisUrl'), ...args]);
    expect((await fp(['box', 'create', 'src', '--size', '1M'])).status).toBe(0);

    const r = await fp(['--json', '--progress', 'json', 'clone', 'src', '--count', '100', '--prefix', 'a-']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ source: 'src' });
    const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { type: string; job: string; phase: string; done: number; total: number; rate: number | null; etaSeconds: number | null });
    expect(lines.every((l) => l.type === 'progress' && l.total === 100 && /^clone-/.test(l.job))).toBe(true);
    expect(lines[0]).toMatchObject({ phase: 'forking', done: 0 });
    expect([...new Set(lines.map((l) => l.phase))]).toEqual(['forking', 'writing children']);
    expect(lines.at(-1)).toMatchObject({ phase: 'writing children', done: 100, etaSeconds: 0 });
    expect(lines.at(-1)!.rate).toBeGreaterThan(0);

    const quiet = await fp(['--quiet', '--progress', 'json', 'clone', 'src', '--count', '3', '--prefix', 'b-']);
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toBe('');
    const piped = await fp(['clone', 'src', '--count', '3', '--prefix', 'c-']);
    expect(piped.stderr).toBe('');
  });

  it('--quiet also silences the notices of what the command started or resumed; errors still print', { timeout: 60_000 }, async () => {
    const home = join(tmp(), 'home');
    stopRedisOn(join(home, 'run', 'redis.sock'));
    const env = cliEnv({ REDIS_URL: undefined }); // no Redis given: each command starts the home's private one
    const loud = await runCli(['--home', home, 'box', 'create', 'src', '--size', '1M'], { env });
    expect(loud.status, loud.stderr).toBe(0);
    expect(loud.stderr).toMatch(/^forkpoint: started a private redis-server for this home/);
    const quiet = await runCli(['--home', home, '-q', 'clone', 'src', '--count', '3', '--prefix', 'q-'], { env });
    expect(quiet.status, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toMatch(/^cloned src into 3 boxes /);
    const refused = await runCli(['--home', home, '-q', 'clone', 'nope', 'x'], { env });
    expect(refused.status).toBe(2);
    expect(refused.stderr.trim().split('\n')).toEqual(['forkpoint: unknown box nope [E_UNKNOWN_BOX]']);
    expect(redisServersOn(join(home, 'run', 'redis.sock'))).toEqual([]);
  });

  it('--progress bar (a terminal\'s default) loads the bar and the command succeeds, also from the bundle\'s code cache', { timeout: 60_000 }, async () => {
    // The bar's package was an import() the cached bundle could not make: every command waiting on
    // a job at a terminal failed after its job succeeded (bin/load-bundle.js, scripts/bundle-cli.mjs).
    const home = join(tmp(), 'home');
    const fp = (args: string[]) => runCli(['--home', home, '--redis', inject('redisUrl'), ...args]);
    expect((await fp(['box', 'create', 'src', '--size', '1M'])).status).toBe(0);
    for (const prefix of ['a-', 'b-']) {
      // The first command writes the cache if no test has yet; the second runs from it.
      const r = await fp(['--progress', 'bar', 'clone', 'src', '--count', '5', '--prefix', prefix]);
      expect(r.stderr).not.toMatch(/internal error/);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`: ${[1, 2, 3, 4, 5].map((n) => `${prefix}${n}`).join(' ')}`);
      expect(r.stdout).toMatch(/^cloned src into 5 boxes /);
      expect(existsSync(join(REPO_ROOT, 'dist', 'cli-bundle', `main.cjs.${process.version}-${process.arch}.v8cache`))).toBe(true);
    }
  });
});
