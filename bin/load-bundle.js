// Runs the CLI bundle (dist/cli-bundle/main.cjs, scripts/bundle-cli.mjs) from V8's code cache:
// without one, compiling its 2.7 MB and then each function a command calls cost a one-box clone
// through serve ~55 ms of its ~225 (README "CLI start-up"). Node 20 has no cache of its own
// (module.enableCompileCache came in 22). The first command that finds no cache, or finds it
// refused, writes one beside the bundle when it may write there; the next build removes it.
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { threadId } from 'node:worker_threads';
import vm from 'node:vm';

/** Named for the Node that made it: V8 refuses another version's cache anyway, and two Nodes can share one install. */
export const cachePathOf = (file) => `${file}.${process.version}-${process.arch}.v8cache`;

/** Load the bundle at `file` as CommonJS; `saveCache()` after the command writes the cache if none was used. */
export function loadBundle(file) {
  const cachePath = cachePathOf(file);
  let cachedData;
  try {
    cachedData = readFileSync(cachePath);
  } catch {
    cachedData = undefined;
  }
  // On the source's first line, so stack traces keep the bundle's line numbers.
  // latin1: the build keeps the bundle ASCII (scripts/bundle-cli.mjs), so this is the same text, read
  // into a one-byte string without decoding UTF-8.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'latin1')}\n})`, {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER, // the bundle's import() of cli-progress
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  const used = cachedData !== undefined && !script.cachedDataRejected;
  return {
    exports: module.exports,
    cacheUsed: used,
    saveCache() {
      if (used) return;
      // Made now, after the command: it then holds the functions the command ran, not only the top level.
      const tmp = `${cachePath}.${process.pid}-${threadId}.tmp`; // a process's threads may write it at once
      try {
        writeFileSync(tmp, script.createCachedData(), { mode: 0o644 });
        renameSync(tmp, cachePath); // whole or not at all, for a command starting meanwhile
      } catch {
        try {
          unlinkSync(tmp);
        } catch {
          // a read-only install: every command compiles, as without a cache
        }
      }
    },
  };
}
