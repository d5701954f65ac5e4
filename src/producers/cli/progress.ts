/** A progress bar on a terminal (stderr), nothing when piped or with --json. */
import type { JobHandle } from '../client.js';

export async function withProgressBar<T>(handle: JobHandle<T>, label: string, enabled: boolean): Promise<T> {
  if (!enabled || !process.stderr.isTTY) return handle.result();
  const { SingleBar, Presets } = await import('cli-progress');
  const bar = new SingleBar(
    { format: `${label} [{bar}] {value}/{total} ({percentage}%) {duration_formatted}`, stream: process.stderr, hideCursor: true },
    Presets.shades_classic,
  );
  let started = false;
  const stop = handle.onProgress((p) => {
    if (!started) {
      bar.start(p.total, p.done);
      started = true;
    } else bar.update(p.done);
  });
  try {
    return await handle.result();
  } finally {
    stop();
    if (started) bar.stop();
  }
}
