/**
 * The CLI is called thousands of times by scripts, so `forkpoint --help` must
 * not load the heavy packages: they are imported inside command actions. This
 * walks the static import graph of the CLI's entry (type-only imports and
 * dynamic `import()` excluded) and fails if one of them is reachable.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const HEAVY = ['bullmq', 'ioredis', 'better-sqlite3', 'piscina', 'fastify', 'pino', 'prom-client', 'zod', '@bull-board/api'];

function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm)) found.push(m[1]!);
  return found;
}

function reachablePackages(entry: string): { packages: Set<string>; files: number } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) todo.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else if (!spec.startsWith('node:')) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  return { packages, files: seen.size };
}

describe('CLI start-up', () => {
  it('loads only commander (and our own light modules) before a command runs', () => {
    const { packages, files } = reachablePackages(resolve(SRC, 'producers/cli/main.ts'));
    expect(files).toBeGreaterThan(5); // the walk really followed the command modules
    expect([...packages].filter((p) => HEAVY.includes(p))).toEqual([]);
    expect(packages.has('commander')).toBe(true);
  });
});
