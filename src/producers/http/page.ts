/**
 * Our own page at `/`: static files from `page/` (no build step). tsc does
 * not copy them to dist/, so a compiled server reads them from src/ (which
 * ships with the package and the container image).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/page/forest.js': { file: 'forest.js', type: 'text/javascript; charset=utf-8' },
  '/page/forest.css': { file: 'forest.css', type: 'text/css; charset=utf-8' },
  '/page/layout.js': { file: 'layout.js', type: 'text/javascript; charset=utf-8' },
  '/page/view.js': { file: 'view.js', type: 'text/javascript; charset=utf-8' },
  '/page/search.js': { file: 'search.js', type: 'text/javascript; charset=utf-8' },
  '/page/details.js': { file: 'details.js', type: 'text/javascript; charset=utf-8' },
  '/page/format.js': { file: 'format.js', type: 'text/javascript; charset=utf-8' },
};

/** Everything the page loads is ours: the browser refuses any other origin (and inline script). */
export const PAGE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

export function pageDir(metaUrl = import.meta.url): string {
  const here = fileURLToPath(new URL('./page/', metaUrl));
  if (existsSync(here)) return here;
  const inSrc = here.replace(/\/dist\/(?!.*\/dist\/)/, '/src/');
  if (existsSync(inSrc)) return inSrc;
  throw new Error(`the page's files are missing (looked in ${here} and ${inSrc})`);
}

export function pageRoutes(app: FastifyInstance): void {
  const dir = pageDir();
  // Small files, read once: the page never changes while the service runs.
  for (const [url, { file, type }] of Object.entries(FILES)) {
    const body = readFileSync(`${dir}${file}`);
    app.get(url, async (_request, reply) => reply.type(type).header('cache-control', 'no-cache').header('content-security-policy', PAGE_CSP).send(body));
  }
}
