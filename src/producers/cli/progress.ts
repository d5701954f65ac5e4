/**
 * Progress of the job a command waits for, on stderr: a bar on a terminal
 * (phase, count, rate, ETA), one JSON line per update with `--progress json`
 * (for `--json` callers and other programs), or nothing (`--quiet`, a pipe).
 * The phase is what the job reports (flows: "forking", "writing children");
 * rate and ETA are measured here, over the current phase only, so the seconds
 * a fork takes do not pass for a slow rate of children.
 */
import type { JobHandle, JobProgress } from '../client.js';

export type ProgressMode = 'auto' | 'bar' | 'json' | 'none';

export const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'bar', 'json', 'none'];

/** Which progress a command shows, from the global flags: --quiet wins, then --progress, then auto (a bar on a terminal, unless --json). */
export function progressMode(flags: { quiet?: boolean; progress?: ProgressMode; json?: boolean }, stderrIsTTY = process.stderr.isTTY === true): 'bar' | 'json' | 'none' {
  if (flags.quiet) return 'none';
  const mode = flags.progress ?? 'auto';
  if (mode !== 'auto') return mode;
  return stderrIsTTY && !flags.json ? 'bar' : 'none';
}

export interface ProgressReading {
  phase: string;
  done: number;
  total: number;
  /** Items per second in this phase so far (null until something was done in it). */
  rate: number | null;
  /** Seconds left at that rate (null while the rate is unknown). */
  etaSeconds: number | null;
}

/** Rate and ETA from updates. Pure: it is given the time of each update. */
export class ProgressMeter {
  private phase = '';
  private since = 0;
  private doneAtStart = 0;

  constructor(private readonly defaultPhase: string) {}

  read(p: JobProgress, nowMs: number): ProgressReading {
    const phase = p.phase ?? this.defaultPhase;
    if (phase !== this.phase) {
      this.phase = phase;
      this.since = nowMs;
      this.doneAtStart = p.done;
    }
    const seconds = (nowMs - this.since) / 1000;
    const inPhase = p.done - this.doneAtStart;
    const rate = inPhase > 0 && seconds > 0 ? inPhase / seconds : null;
    const etaSeconds = rate === null ? null : Math.max(0, (p.total - p.done) / rate);
    return { phase, done: p.done, total: p.total, rate, etaSeconds };
  }
}

/** "1.2k/s", "35/s", "0.4/s". */
export function formatRate(rate: number | null): string {
  if (rate === null) return '-/s';
  if (rate >= 1000) return `${(rate / 1000).toFixed(1)}k/s`;
  return rate >= 10 ? `${Math.round(rate)}/s` : `${rate.toFixed(1)}/s`;
}

/** "ETA 0:07", "ETA 1:02:03", "ETA -". */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return 'ETA -';
  const s = Math.ceil(seconds);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `ETA ${hh}:${String(mm).padStart(2, '0')}:${ss}` : `ETA ${mm}:${ss}`;
}

/** The JSON line of one update (`--progress json`). */
export function progressJsonLine(jobId: string, r: ProgressReading): string {
  const rate = r.rate === null ? null : Number(r.rate.toFixed(1));
  const etaSeconds = r.etaSeconds === null ? null : Number(r.etaSeconds.toFixed(1));
  return `${JSON.stringify({ type: 'progress', job: jobId, phase: r.phase, done: r.done, total: r.total, rate, etaSeconds })}\n`;
}

/** Wait for the job's result, showing its progress as `mode` says (see progressMode). */
export async function withProgress<T>(handle: JobHandle<T>, label: string, mode: 'bar' | 'json' | 'none'): Promise<T> {
  if (mode === 'none') return handle.result();
  const meter = new ProgressMeter(label);
  if (mode === 'json') {
    const stop = handle.onProgress((p, atMs) => void process.stderr.write(progressJsonLine(handle.id, meter.read(p, atMs))));
    try {
      return await handle.result();
    } finally {
      stop();
    }
  }
  const { SingleBar, Presets } = await import('cli-progress');
  const bar = new SingleBar(
    { format: '{phase} [{bar}] {value}/{total} ({percentage}%) {rateText} {etaText}', stream: process.stderr, hideCursor: true, forceRedraw: true },
    Presets.shades_classic,
  );
  let started = false;
  const stop = handle.onProgress((p, atMs) => {
    const r = meter.read(p, atMs);
    // Not `eta`/`rate`: cli-progress fills those names itself (its ETA counts from the start, fork included).
    const payload = { phase: r.phase.padEnd(16), rateText: formatRate(r.rate), etaText: formatEta(r.etaSeconds) };
    if (!started) {
      bar.start(p.total, p.done, payload);
      started = true;
    } else {
      if (bar.getTotal() !== p.total) bar.setTotal(p.total);
      bar.update(p.done, payload);
    }
  });
  try {
    return await handle.result();
  } finally {
    stop();
    if (started) bar.stop();
  }
}
