// Which build a command runs from (see scripts/bundle-cli.mjs): `serve` from dist/ as compiled,
// every other command from the bundle when it is there.

/** The global options that take a value (test/cli/cli.entry.test.ts keeps this in step with the program). */
export const GLOBAL_VALUE_OPTIONS = ['--home', '--redis', '--progress', '--timeout'];

/** The command named in `args` (process.argv after node and the script): the first word that is no global option or its value. */
export function commandOf(args) {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return args[i + 1] ?? null;
    if (!a.startsWith('-')) return a;
    if (GLOBAL_VALUE_OPTIONS.includes(a)) i++;
  }
  return null;
}

/** The module to load for `args`, relative to bin/. */
export function entryFor(args, bundled) {
  return commandOf(args) !== 'serve' && bundled ? '../dist/cli-bundle/main.cjs' : '../dist/producers/cli/main.js';
}
