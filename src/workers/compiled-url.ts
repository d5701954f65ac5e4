/**
 * Worker threads (Piscina tasks, the DB writer) must load compiled
 * JavaScript from `dist/`: Node cannot run our .ts sources in a thread, and
 * the CLI's bundle (scripts/bundle-cli.mjs) has no file of its own per module.
 * So a thread's module is found from the package root, wherever the code that
 * starts it runs from: `src/` (vitest, tsx), `dist/`, or `dist/cli-bundle/`.
 * The build bundles each thread too (dist/cli-bundle/<name>.mjs, loaded from
 * V8's code cache): that one runs when it is there, so tests run it as well.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** `file` (a path under dist/, e.g. `workers/file-tasks.js`) as built, found from the package root above `metaUrl`. */
export function compiledModuleUrl(metaUrl: string, file: string): URL {
  let dir = dirname(fileURLToPath(metaUrl));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package root above ${fileURLToPath(metaUrl)} to find dist/${file} from`);
    dir = up;
  }
  const bundled = join(dir, 'dist', 'cli-bundle', `${basename(file, '.js')}.mjs`);
  if (existsSync(bundled)) return pathToFileURL(bundled);
  const built = join(dir, 'dist', file);
  if (!existsSync(built)) throw new Error(`${file} is not built (looked for ${built}); run \`npm run build\``);
  return pathToFileURL(built);
}
