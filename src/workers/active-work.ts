/**
 * What the pipeline's running jobs work on, for a check on a live home
 * (db/recovery/in-flight.ts): the op, boxes and bases each payload names.
 * Payloads are read by field name, so a new job type whose fields use the
 * same names is covered without a change here.
 */
import type { InFlightWork } from '../db/recovery/in-flight.js';

const BOX_FIELDS = ['boxId', 'source', 'target'] as const;

export class ActiveWork {
  private readonly jobs = new Map<string, Record<string, unknown>>();

  start(jobId: string, payload: unknown): void {
    if (payload && typeof payload === 'object') this.jobs.set(jobId, payload as Record<string, unknown>);
  }

  finish(jobId: string): void {
    this.jobs.delete(jobId);
  }

  get size(): number {
    return this.jobs.size;
  }

  snapshot(): InFlightWork {
    const ops = new Set<string>();
    const boxes = new Set<string>();
    const bases = new Set<string>();
    const add = (to: Set<string>, v: unknown) => {
      if (typeof v === 'string') to.add(v);
    };
    for (const p of this.jobs.values()) {
      add(ops, p.op);
      add(bases, p.baseId);
      for (const f of BOX_FIELDS) add(boxes, p[f]);
      if (Array.isArray(p.targets)) for (const t of p.targets) add(boxes, t);
    }
    return { ops, boxes, bases };
  }
}
