/**
 * One operation at a time per key (a box id), in arrival order. A home has
 * exactly one pipeline, so an in-process lock is enough to keep two jobs
 * from forking or removing the same box at once: the writer would refuse the
 * second (E_CONFLICT), and a user who queues two clones of one box expects
 * both to happen, one after the other.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      // Forget the key once nobody queued behind us, so the map does not grow with every box ever seen.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /**
   * `work` holding every key at once. Keys are taken one by one in sorted order, so two callers
   * whose sets overlap can never each hold a key the other waits for (no deadlock).
   */
  runAll<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const from = (i: number): Promise<T> => (i === sorted.length ? work() : this.run(sorted[i]!, () => from(i + 1)));
    return from(0);
  }
}
