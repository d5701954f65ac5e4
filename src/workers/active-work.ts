/**
 * What the pipeline's running jobs work on, for a check on a live home
 * (db/recovery/in-flight.ts): the op, boxes and bases each payload names, and
 * what a job says it works on once it knows (a snapshot resolved to its base,
 * a rootfs file being copied in). Payloads are read by field name, so a new
 * job type whose fields use the same names is covered without a change here.
 */
import type { InFlightWork } from './recovery/in-flight.js';

const BOX_FIELDS = ['boxId', 'source', 'target'] as const;
/** Jobs whose `boxId` names the snapshot's owner, which they only read. */
const BOX_ID_ONLY_READ: ReadonlySet<string> = new Set(['snapshot-remove', 'snapshot-clone']);

/** What a job adds once it has resolved it. */
export interface NotedWork {
  bases?: string[];
  files?: string[];
}

interface Running {
  name: string;
  payload: Record<string, unknown>;
  noted: NotedWork[];
}

export class ActiveWork {
  private readonly jobs = new Map<string, Running>();

  start(jobId: string, name: string, payload: unknown): void {
    const fields = payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : {};
    this.jobs.set(jobId, { name, payload: fields, noted: [] });
  }

  note(jobId: string, work: NotedWork): void {
    this.jobs.get(jobId)?.noted.push(work);
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
    const files = new Set<string>();
    const add = (to: Set<string>, v: unknown) => {
      if (typeof v === 'string') to.add(v);
    };
    for (const { name, payload: p, noted } of this.jobs.values()) {
      add(ops, p.op);
      add(bases, p.baseId);
      for (const f of BOX_FIELDS) if (f !== 'boxId' || !BOX_ID_ONLY_READ.has(name)) add(boxes, p[f]);
      if (Array.isArray(p.targets)) for (const t of p.targets) add(boxes, t);
      if (Array.isArray(p.boxIds)) for (const b of p.boxIds) add(boxes, b); // a bulk remove-box
      for (const w of noted) {
        for (const b of w.bases ?? []) bases.add(b);
        for (const f of w.files ?? []) files.add(f);
      }
    }
    return { ops, boxes, bases, files };
  }
}
