// The CLI's bundle (dist/cli-bundle/main.cjs): the compiled CLI with BullMQ, ioredis and zod
// inlined, so a command loads one file instead of hundreds, compiled from V8's code cache once one
// command has run (bin/load-bundle.js; README "CLI start-up"). Every other package stays external.
// `serve` runs from dist/ unbundled (bin/entry.js): bull-board tests `instanceof Queue` against its own BullMQ, and
// fastify-type-provider-zod works on our schemas with its own zod, so there they must be the
// node_modules copies. No other command loads those packages.
import { readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const INLINED = new Set(['bullmq', 'ioredis', 'zod']);
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
  logLevel: 'warning',
});
