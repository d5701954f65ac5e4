/**
 * Worker threads (Piscina tasks, the DB writer) must load compiled
 * JavaScript: Node cannot run our .ts sources in a thread. When this module
 * itself runs from `src/` (vitest, tsx), point at the build in `dist/`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

export function compiledModuleUrl(metaUrl: string, file: string): URL {
  const here = new URL(file, metaUrl);
  if (existsSync(fileURLToPath(here))) return here;
  const path = fileURLToPath(here);
  const inDist = path.replace(/\/src\/(?!.*\/src\/)/, '/dist/');
  if (inDist !== path && existsSync(inDist)) return pathToFileURL(inDist);
  throw new Error(`${file} is not built (looked for ${path} and ${inDist}); run \`npm run build\``);
}
