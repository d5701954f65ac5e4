/**
 * Group commit: chunks handed over while a group is being flushed and committed wait for the next
 * group, which takes all of them, so the flushes keep pace with the writers whatever their speed.
 * After a failure it takes no more; drain() rejects with it. Used by flows/attach-children.ts.
 */
export class GroupCommitter {
  #pending: string[][] = [];
  #running: Promise<void> | null = null;
  #failed: { error: unknown } | null = null;

  constructor(private readonly flushAndCommit: (group: string[][]) => Promise<void>) {}

  add(chunk: string[]): void {
    if (this.#failed) return; // its group failed: left uncommitted, as every chunk after it
    this.#pending.push(chunk);
    // Reset only through the promise: a run that ends at once must not leave a settled one behind.
    this.#running ??= this.#run().finally(() => (this.#running = null));
  }

  throwIfFailed(): void {
    if (this.#failed) throw this.#failed.error;
  }

  async drain(): Promise<void> {
    while (this.#running) await this.#running;
    this.throwIfFailed();
  }

  async #run(): Promise<void> {
    try {
      while (this.#pending.length > 0 && !this.#failed) await this.flushAndCommit(this.#pending.splice(0));
    } catch (error) {
      this.#failed = { error };
    }
  }
}
