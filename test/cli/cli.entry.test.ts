/**
 * bin/entry.js picks the build a command runs from: `serve` from dist/ as
 * compiled, any other command from the CLI bundle. It finds the command by
 * skipping global options, so its list of the ones that take a value must be
 * the program's own: a new one left out would make its value read as the
 * command. The bundle is what `npm run build` made, and a command through it
 * runs its own pipeline (worker threads found from the package root).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript beside the launcher, no types
import { commandOf, entryFor, GLOBAL_VALUE_OPTIONS } from '../../bin/entry.js';
import { buildProgram } from '../../src/producers/cli/main.js';
import { REPO_ROOT, runCli } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-entry-');

describe('bin/entry.js', () => {
  it('knows every global option that takes a value', () => {
    const valued = buildProgram()
      .options.filter((o) => o.required || o.optional)
      .map((o) => o.long);
    expect([...GLOBAL_VALUE_OPTIONS].sort()).toEqual(valued.sort());
  });

  it.each([
    { args: ['serve'], command: 'serve' },
    { args: ['--home', 'serve', 'box', 'ls'], command: 'box' }, // a home named "serve"
    { args: ['--home=/h', '--redis', 'redis://x', '-q', 'serve', '--port', '0'], command: 'serve' },
    { args: ['--progress', 'json', 'clone', 'web'], command: 'clone' },
    { args: ['--json'], command: null },
  ])('$args → $command', ({ args, command }) => {
    expect(commandOf(args)).toBe(command);
  });

  it('serve runs from dist/, every other command from the bundle (when it is built)', () => {
    expect(entryFor(['serve'], true)).toBe('../dist/producers/cli/main.js');
    expect(entryFor(['box', 'ls'], true)).toBe('../dist/cli-bundle/main.cjs');
    expect(entryFor(['box', 'ls'], false)).toBe('../dist/producers/cli/main.js');
  });

  it('the build made the bundle, and a command through it runs its own pipeline', async () => {
    expect(existsSync(join(REPO_ROOT, 'dist', 'cli-bundle', 'main.cjs'))).toBe(true);
    const home = join(tmp(), 'home');
    const made = await runCli(['--home', home, 'box', 'create', 's', '--size', '1M']);
    expect(made.status, made.stderr).toBe(0);
    const cloned = await runCli(['--home', home, '--json', 'clone', 's', 'c1', 'c2']);
    expect(cloned.status, cloned.stderr).toBe(0);
    expect(JSON.parse(cloned.stdout).targets).toEqual(['c1', 'c2']);
  });
});
