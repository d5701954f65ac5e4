#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by the install step, so a call
// costs one Node start-up and no TypeScript transpiling.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { entryFor } from './entry.js';
import { loadBundle } from './load-bundle.js';

// A reader that stops early (`forkpoint box ls | head`) closes the pipe: that ends the output, not
// the command with a stack trace. Any other stream error is still one.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
}
const entry = entryFor(process.argv.slice(2), existsSync(new URL('../dist/cli-bundle/main.cjs', import.meta.url)));
const bundle = entry.endsWith('.cjs') ? () => loadBundle(fileURLToPath(new URL(entry, import.meta.url))) : null;
(bundle ? Promise.resolve().then(bundle) : import(entry).then((exports) => ({ exports, saveCache: () => undefined })))
  .then(async ({ exports: cli, saveCache }) => {
    await cli.main(process.argv);
    // A finished command exits now, not when the last idle client timer fires, but only once its
    // output has left the process: into a slow pipe, writes past 64 KiB are still queued here.
    await cli.flushStdio();
    saveCache();
    process.exit(process.exitCode ?? 0);
  })
  .catch((err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/')) {
      process.stderr.write('forkpoint: not built yet; run `npm run setup` (or `npm run build`) first\n');
      process.exit(1);
    }
    throw err;
  });
