/**
 * bin/load-bundle.js runs the CLI bundle from V8's code cache. Driven on a
 * copy of the built bundle in a temp folder (the real one is shared by every
 * CLI test): the first command writes the cache, the next uses it, a cache
 * that is not this bundle's is refused by V8 and replaced, and where the
 * cache cannot be written the command still works and leaves no temp file.
 * The loader reads the bundle as latin1, which is right only while the build
 * keeps it ASCII (scripts/bundle-cli.mjs).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-code-cache-');
const LOADER = pathToFileURL(join(REPO_ROOT, 'bin', 'load-bundle.js')).href;

/** A copy of the bundle that resolves its packages from the repository's node_modules. */
function bundleCopy(): string {
  const dir = tmp();
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  const file = join(dir, 'main.cjs');
  copyFileSync(join(REPO_ROOT, 'dist', 'cli-bundle', 'main.cjs'), file);
  return file;
}

/** `forkpoint ARGS` through loadBundle(file) in a fresh Node: its output and whether the cache was used. */
function runBundle(file: string, args: string[]): { out: string; cacheUsed: boolean } {
  const script = `
    const { loadBundle } = await import(${JSON.stringify(LOADER)});
    const b = loadBundle(${JSON.stringify(file)});
    let out = '';
    process.stdout.write = (chunk) => ((out += chunk), true);
    await b.exports.main(['node', 'forkpoint', ...${JSON.stringify(args)}]);
    b.saveCache();
    process.stderr.write(JSON.stringify({ out, cacheUsed: b.cacheUsed }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stderr.trim().split('\n').at(-1)!) as { out: string; cacheUsed: boolean };
}

function runVersion(file: string): { version: string; cacheUsed: boolean } {
  const { out, cacheUsed } = runBundle(file, ['--version']);
  return { version: out.trim(), cacheUsed };
}

const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const cacheOf = (file: string) => `${file}.${process.version}-${process.arch}.v8cache`;

describe('bin/load-bundle.js', () => {
  it('the first command writes the cache, the next runs from it', () => {
    const file = bundleCopy();
    expect(runVersion(file)).toEqual({ version, cacheUsed: false });
    expect(existsSync(cacheOf(file))).toBe(true);
    expect(runVersion(file)).toEqual({ version, cacheUsed: true });
  });

  it('a cache that is not this bundle’s is refused and replaced', () => {
    const file = bundleCopy();
    writeFileSync(cacheOf(file), Buffer.alloc(4096, 7));
    expect(runVersion(file)).toEqual({ version, cacheUsed: false });
    expect(runVersion(file)).toEqual({ version, cacheUsed: true });
  });

  it('the bundle is ASCII, so its latin1 read is its text: non-ASCII in a message reaches the output whole', () => {
    const bundle = readFileSync(join(REPO_ROOT, 'dist', 'cli-bundle', 'main.cjs'));
    expect(bundle.findIndex((byte) => byte > 0x7f)).toBe(-1);
    // The help of clone --prefix has an ellipsis (U+2026), escaped in the bundle; a UTF-8 read of a
    // bundle carrying the raw bytes, read as latin1, would print three characters instead.
    const { out } = runBundle(bundleCopy(), ['clone', '--help']);
    expect(out).toContain('name clones <prefix>1 \u2026 <prefix>N');
  });

  it('commander runs from the bundle, not from node_modules', () => {
    const bundle = readFileSync(join(REPO_ROOT, 'dist', 'cli-bundle', 'main.cjs'), 'latin1');
    expect(bundle).not.toMatch(/require\("commander"\)/);
    expect(bundle).toContain('"node_modules/commander/lib/command.js"'); // esbuild's name for the inlined module
  });

  it('where the cache cannot be written, the command still works and leaves nothing behind', () => {
    const file = bundleCopy();
    mkdirSync(cacheOf(file)); // a folder in its place: it can be neither read nor replaced
    const before = readdirSync(join(file, '..')).sort();
    expect(runVersion(file)).toEqual({ version, cacheUsed: false });
    expect(readdirSync(join(file, '..')).sort()).toEqual(before);
  });
});
