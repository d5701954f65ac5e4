// The CLI's bundle (dist/cli-bundle/): the compiled CLI with BullMQ and ioredis inlined, so a
// command loads a few files instead of ~250 (a clone through serve starts ~90 ms sooner,
// README "CLI start-up"). Every other package stays external: zod, and anything `serve` shares
// with packages that check classes (bull-board tests `instanceof Queue`), so there is one copy of
// each. `serve` itself runs from dist/ unbundled (bin/entry.js): its HTTP side would otherwise
// meet a second copy of our own error classes.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const INLINED = new Set(['bullmq', 'ioredis']);
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = Object.keys(pkg.dependencies).filter((name) => !INLINED.has(name));

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
