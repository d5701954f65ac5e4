/**
 * I/O: syncfs(2) of a folder's filesystem without blocking the caller, and without forking the
 * caller's process for each flush. Node has no syncfs binding, so a flush is coreutils'
 * `sync -f`. Spawned from Node, each one forks the whole process (libuv forks, then execs):
 * 1.4 ms at 48 MB, 6.2 ms at 350 MB, with the process's memory map locked meanwhile, so every
 * thread that allocates waits. A batch clone flushes once per group of children, from a ~200 MB
 * serve. So a folder gets one small `sh` helper, started in it once, that runs `sync -f .` for
 * each request line: only the small shell forks. Measured (2,000 children, 4 write tasks on 2
 * pool threads, a 260 MB process; 2026-12-02): the write phase 224 ms with `sync -f` spawned on a
 * pool thread (as before), 193 ms spawned from the main thread, 165–173 ms through the helper.
 *
 * The path never crosses the pipe (the helper's working folder is the folder), so no name can
 * break the line protocol. The helper is in its own process group (a terminal's Ctrl-C is ours to
 * handle, not its), it does not keep this process alive, and it ends when its input closes: when
 * the pipeline's file runner closes (closeFlushers), or with this process. A helper that cannot
 * start or dies is replaced; the flushes it owed are made by a one-off `sync -f`, so a flush never
 * fails for want of the helper.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { flushError } from './sync-filesystem.js';

// Each line read runs one syncfs; the answer is `ok`, or `fail` and sync's message on one line.
const HELPER_SCRIPT = 'while IFS= read -r _; do if out=$(sync -f . 2>&1); then echo ok; else echo "fail $(printf %s "$out" | tr "\\n" " ")"; fi; done';

/** stdout is a pipe, a Socket: ref'd only while an answer is owed, so an idle helper keeps nothing alive. */
type Helper = ChildProcessByStdio<Writable, Socket, null>;

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

class Flusher {
  readonly #dir: string;
  #child: Helper | null = null;
  #waiting: Waiter[] = [];
  #buffered = '';
  #exited: Promise<void> = Promise.resolve();

  constructor(dir: string) {
    this.#dir = dir;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  flush(): Promise<void> {
    const child = this.#child ?? this.#start();
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      child.stdout.ref(); // an answer is owed: stay alive for it
      child.stdin.write('\n');
    });
  }

  #start(): Helper {
    const child = spawn('sh', ['-c', HELPER_SCRIPT], { cwd: this.#dir, detached: true, stdio: ['pipe', 'pipe', 'ignore'] }) as unknown as Helper;
    this.#child = child;
    child.unref();
    child.stdin.on('error', () => undefined); // a helper gone: its exit below settles what it owed
    child.stdout.setEncoding('utf8');
    // Only this helper's answers settle its requests: a late line of one replaced must not.
    child.stdout.on('data', (text: string) => this.#child === child && this.#answers(text));
    this.#exited = new Promise<void>((resolve) => {
      const gone = () => {
        this.#gone(child);
        resolve();
      };
      child.once('error', gone); // could not start (the folder is gone, no sh)
      child.once('close', gone); // after its output: every answer it gave has been read
    });
    return child;
  }

  /** End the helper once it has answered what it was asked (its input closes), and wait until it has exited. */
  async close(): Promise<void> {
    this.#child?.stdin.end();
    await this.#exited;
  }

  #answers(text: string): void {
    this.#buffered += text;
    for (let end = this.#buffered.indexOf('\n'); end >= 0; end = this.#buffered.indexOf('\n')) {
      const line = this.#buffered.slice(0, end);
      this.#buffered = this.#buffered.slice(end + 1);
      const waiter = this.#waiting.shift();
      if (line === 'ok') waiter?.resolve();
      else waiter?.reject(flushError(this.#dir, line.replace(/^fail ?/, '').trim() || 'sync failed'));
    }
    if (this.#waiting.length === 0) this.#child?.stdout.unref();
  }

  /** The helper ended (or never began): what it still owed is flushed one at a time by a `sync -f` each. */
  #gone(child: Helper): void {
    if (this.#child !== child) return; // 'error' and 'close' both came
    this.#child = null;
    this.#buffered = '';
    const owed = this.#waiting.splice(0);
    for (const waiter of owed) syncOnce(this.#dir).then(waiter.resolve, waiter.reject);
  }
}

/** One `sync -f DIR` of its own (the helper's stand-in). */
function syncOnce(dir: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let stderr = '';
    const child = spawn('sync', ['-f', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', (err) => reject(flushError(dir, err.message)));
    child.once('close', (status) => (status === 0 ? resolve() : reject(flushError(dir, stderr.trim() || `sync exited ${status}`))));
  });
}

/** One helper per folder, per thread (a folder's helper serves every job flushing it). */
const flushers = new Map<string, Flusher>();

const flusherOf = (dir: string): Flusher => {
  let f = flushers.get(dir);
  if (!f) flushers.set(dir, (f = new Flusher(dir)));
  return f;
};

/**
 * Flush the filesystem holding `dir` (everything written before the call is durable when it
 * resolves); E_IO naming `dir` if the kernel reports a write-back error or the folder is gone.
 */
export function flushFilesystemOf(dir: string): Promise<void> {
  return flusherOf(dir).flush();
}

/**
 * End every helper (each answers what it was asked first) and wait until they have exited: a
 * helper's working folder keeps its filesystem busy (no umount) for as long as it runs. The
 * pipeline's file runner calls it when it closes; a flush asked for later starts a new helper.
 */
export async function closeFlushers(): Promise<void> {
  const all = [...flushers.values()];
  flushers.clear();
  await Promise.all(all.map((f) => f.close()));
}

/** The pid of `dir`'s helper while one runs (tests: it is reused, and replaced when it dies). */
export function flushHelperPid(dir: string): number | undefined {
  return flushers.get(dir)?.pid;
}
