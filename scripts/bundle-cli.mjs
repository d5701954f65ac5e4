// The CLI's bundle (dist/cli-bundle/): the compiled CLI with BullMQ, ioredis and zod inlined, so
// a command loads a few files instead of hundreds (a one-box clone through serve ~80 ms sooner,
// README "CLI start-up"). Every other package stays external. `serve` runs from dist/ unbundled
// (bin/entry.js): bull-board tests `instanceof Queue` against its own BullMQ, and
// fastify-type-provider-zod works on our schemas with its own zod, so there they must be the
// node_modules copies. No other command loads those packages.
import { readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const INLINED = new Set(['bullmq', 'ioredis', 'zod']);
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = Object.keys(pkg.dependencies).filter((name) => !INLINED.has(name));

// Chunk names carry a content hash: without this, every build would leave the last one's chunks behind.
rmSync('dist/cli-bundle', { recursive: true, force: true });

await build({
  entryPoints: ['dist/producers/cli/main.js'],
  outdir: 'dist/cli-bundle',
  bundle: true,
  splitting: true, // the CLI's lazy imports stay lazy (chunks)
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // BullMQ and ioredis are CommonJS: their require() of Node's modules needs a require in ESM.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});
