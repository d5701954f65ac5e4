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
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/pipeline.js';
import { compiledModuleUrl } from '../../src/workers/compiled-url.js';
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

  it('a command that imports a module lazily runs from the cache too (qcow2 info, the node:fs it reads sizes with)', () => {
    // V8 drops a script's dynamic-import callback when it is compiled from cachedData (Node 20): an
    // import() left in the bundle threw ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING from the second run on.
    const file = bundleCopy();
    const image = join(tmp(), 'disk.qcow2');
    expect(spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '64M']).status).toBe(0);
    const first = runBundle(file, ['qcow2', 'info', image]);
    expect(first.cacheUsed).toBe(false);
    expect(first.out).toContain('virtual size: 67108864 bytes');
    expect(runBundle(file, ['qcow2', 'info', image])).toEqual({ out: first.out, cacheUsed: true });
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

/** The writer thread's bundle and its entry, laid out as in a package (bin/, dist/cli-bundle/) in a temp folder. */
function threadCopy(): string {
  const root = tmp();
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'dist', 'cli-bundle'), { recursive: true });
  copyFileSync(join(REPO_ROOT, 'bin', 'load-bundle.js'), join(root, 'bin', 'load-bundle.js'));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}');
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  for (const f of ['db-writer-thread.cjs', 'db-writer-thread.mjs']) copyFileSync(join(REPO_ROOT, 'dist', 'cli-bundle', f), join(root, 'dist', 'cli-bundle', f));
  return join(root, 'dist', 'cli-bundle', 'db-writer-thread.mjs');
}

/** Start the writer thread from `entry` on a fresh home, apply one command, close it: the command's reply. */
async function runWriterThread(entry: string): Promise<unknown> {
  const worker = new Worker(entry, { workerData: { home: tmp() } });
  const replies: unknown[] = [];
  const next = () => new Promise<Record<string, unknown>>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  try {
    worker.postMessage({ open: true });
    expect(await next()).toEqual({ ready: true });
    worker.postMessage({ id: 1, command: { type: 'createBox', op: 'o1', boxId: 'a', baseId: null } });
    replies.push(await next());
    worker.postMessage({ close: true });
    expect(await next()).toEqual({ closed: true });
  } finally {
    await worker.terminate();
  }
  return replies[0];
}

describe('the worker threads run from bundles of their own', () => {
  it('a pipeline starts its threads from dist/cli-bundle/ once built', () => {
    for (const name of ['file-tasks', 'db-writer-thread']) {
      expect(compiledModuleUrl(import.meta.url, `workers/${name}.js`).pathname).toBe(join(REPO_ROOT, 'dist', 'cli-bundle', `${name}.mjs`));
    }
  });

  it('the writer thread from its bundle applies commands; its first start writes the code cache, the next runs from it', async () => {
    const entry = threadCopy();
    const cache = cacheOf(entry.replace(/\.mjs$/, '.cjs'));
    expect(await runWriterThread(entry)).toMatchObject({ id: 1, ok: true, value: { id: 'a', state: 'creating' } });
    expect(existsSync(cache)).toBe(true);
    const written = statSync(cache).mtimeMs;
    expect(await runWriterThread(entry)).toMatchObject({ id: 1, ok: true });
    expect(statSync(cache).mtimeMs, 'a cache that was used is not written again').toBe(written);
  });
});
