/**
 * A GC request for a base whose GC job is running is held, not dropped (BullMQ
 * would collapse it into the running job, which may already have decided to
 * keep the base), and made again once that job is over.
 */
import { describe, expect, it } from 'vitest';
import { GcRequests } from '../../src/workers/gc-requests.js';

describe('GcRequests', () => {
  it('passes requests through while no job runs for the base (duplicates once)', () => {
    const r = new GcRequests();
    expect(r.request(['A', 'B', 'A'])).toEqual(['A', 'B']);
    expect(r.finished('A')).toBe(false);
  });

  it('holds a request made while its job runs, and asks for it again once, when the job is over', () => {
    const r = new GcRequests();
    r.started('A');
    expect(r.request(['A', 'B'])).toEqual(['B']);
    expect(r.request(['A'])).toEqual([]);
    expect(r.finished('A')).toBe(true);
    expect(r.finished('A')).toBe(false);
    expect(r.request(['A'])).toEqual(['A']);
  });

  it('a job that ends with nothing held asks for nothing', () => {
    const r = new GcRequests();
    r.started('A');
    expect(r.finished('A')).toBe(false);
  });
});
