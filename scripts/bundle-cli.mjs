// The CLI's bundle (dist/cli-bundle/main.cjs): the compiled CLI with BullMQ, ioredis, zod and
// commander inlined, so a command loads one file instead of hundreds, compiled from V8's code cache once one
// command has run (bin/load-bundle.js; README "CLI start-up"). Every other package stays external.
// `serve` runs from dist/ unbundled (bin/entry.js): bull-board tests `instanceof Queue` against its own BullMQ, and
// fastify-type-provider-zod works on our schemas with its own zod, so there they must be the
// node_modules copies. No other command loads those packages.
import { readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

// commander too: every command parses its arguments with it, and a package left outside is compiled
// afresh by each command (6 ms here), never from the cache.
const INLINED = new Set(['bullmq', 'ioredis', 'zod', 'commander']);
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = Object.keys(pkg.dependencies).filter((name) => !INLINED.has(name));

// A code cache of the last build must not meet this one (V8 checks only the source's length).
rmSync('dist/cli-bundle', { recursive: true, force: true });

await build({
  entryPoints: ['dist/producers/cli/main.js'],
  // One CommonJS file, so bin/load-bundle.js can hand V8 a code cache for it (Node 20 caches no
  // ES module). Modules the CLI imports lazily stay lazy: esbuild runs each one's top level on
  // first import, and V8 compiles a function when it is first called.
  outfile: 'dist/cli-bundle/main.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external,
  // Worker threads are found from the package root above the running file (workers/compiled-url.ts).
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  // Whitespace and comments out (names kept, so stack traces still name functions): a 27% smaller
  // file to read, and with the comments goes the only non-ASCII text, so the bundle is ASCII and
  // bin/load-bundle.js reads it as latin1 (a one-byte string, no UTF-8 decoding: 12 ms → 4 ms).
  minifyWhitespace: true,
  legalComments: 'eof',
  logLevel: 'warning',
});

// load-bundle's latin1 read is only the same text while every byte is ASCII: a bundle that is not
// fails the build here rather than running with mangled strings.
const bundle = readFileSync('dist/cli-bundle/main.cjs');
const offset = bundle.findIndex((byte) => byte > 0x7f);
if (offset !== -1) {
  const line = bundle.subarray(0, offset).toString('latin1').split('\n').length;
  throw new Error(`dist/cli-bundle/main.cjs is not ASCII (byte ${offset}, line ${line}): bin/load-bundle.js reads it as latin1; escape it (esbuild charset 'ascii') or drop what carries it`);
}
