/**
 * 200 mixed jobs submitted at once on one home, then the auditor. Jobs may be
 * refused for reasons the caller caused (a box removed by another job, a fork
 * of the same box in progress…): those are typed ForkpointErrors with codes
 * from LEGITIMATE. Anything else is a bug, and the invariants must hold
 * whatever was refused.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { ErrorCodes, ForkpointError } from '../../src/errors.js';
import type { JobHandle } from '../../src/producers/client.js';
import { auditHome, gcSettled, goldenImage, useTestPipelines } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-conc-');
const startPipeline = useTestPipelines();

/** Refusals a correct pipeline may give when jobs race each other. */
const LEGITIMATE = new Set<string>([
  ErrorCodes.CONFLICT, // a fork of the box in progress; a box still being created
  ErrorCodes.UNKNOWN_BOX, // removed by another job, or not created yet
  ErrorCodes.UNKNOWN_SNAPSHOT, // not created yet, or removed
  ErrorCodes.UNKNOWN_BASE, // a GC of a base already collected
  ErrorCodes.ALREADY_EXISTS,
  ErrorCodes.BASE_DELETING, // a reader added to a base a GC just claimed
  ErrorCodes.HAS_DEPENDENTS, // snapshot rm without --force while clones read it
]);

/** A small deterministic PRNG so a failure can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Planned {
  kind: string;
  start: () => Promise<JobHandle<unknown>>;
}

describe('pipeline: 200 mixed jobs at once on one home', () => {
  it('keeps every invariant whatever the interleaving; refusals are typed; a final sweep leaves no garbage', async () => {
    const dir = tmp();
    const t = await startPipeline(dir, { opsConcurrency: 16 });
    const c = t.client;
    const seed = Number(process.env.FORKPOINT_TEST_SEED ?? 4242);
    const rnd = prng(seed);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

    // Set-up: three sources with different bytes, clones of two (shared clone bases), a snapshot with clones.
    const goldenOf = new Map<string, string>();
    const golds = [0x11, 0x22, 0x33].map((p, i) => goldenImage(join(dir, `g${i}.qcow2`), p));
    await Promise.all(['s0', 's1', 's2'].map(async (s, i) => (await c.createBox(s, { fromImage: golds[i]! })).result()));
    ['s0', 's1', 's2'].forEach((s, i) => goldenOf.set(s, golds[i]!));
    const a = Array.from({ length: 15 }, (_, i) => `a${i}`);
    const b = Array.from({ length: 15 }, (_, i) => `b${i}`);
    const baseA = (await (await c.clone('s0', a)).result()).baseId;
    const baseB = (await (await c.clone('s1', b)).result()).baseId;
    a.forEach((x) => goldenOf.set(x, golds[0]!));
    b.forEach((x) => goldenOf.set(x, golds[1]!));
    const snap0 = (await (await c.snapshot('s2', 'snap0')).result()).baseId;
    const cs = ['c0', 'c1', 'c2', 'c3', 'c4'];
    for (const x of cs) {
      await (await c.cloneSnapshot('snap0', x, { boxId: 's2' })).result();
      goldenOf.set(x, golds[2]!);
    }

    // The mix. Every new box name is made by exactly one job, so its expected bytes are known now.
    const existing = ['s0', 's1', 's2', ...a, ...b, ...cs];
    const made: string[] = [];
    const snapshots: { box: string; name: string }[] = [{ box: 's2', name: 'snap0' }];
    const plan: Planned[] = [];
    let n = 0;
    const add = (kind: string, start: () => Promise<JobHandle<unknown>>) => plan.push({ kind, start });
    while (plan.length < 200) {
      const r = rnd();
      const i = n++;
      if (r < 0.33) {
        const source = pick(rnd() < 0.8 ? existing : made.length ? made : existing);
        const targets = Array.from({ length: 1 + Math.floor(rnd() * 3) }, (_, j) => `m${i}-${j}`);
        for (const x of targets) {
          goldenOf.set(x, goldenOf.get(source)!);
          made.push(x);
        }
        add('clone', () => c.clone(source, targets));
      } else if (r < 0.53) {
        const victim = pick(rnd() < 0.85 ? existing.filter((x) => !x.startsWith('s')) : made.length ? made : existing);
        add('remove-box', () => c.removeBox(victim));
      } else if (r < 0.68) {
        const box = pick(rnd() < 0.8 ? existing : made.length ? made : existing);
        const name = `n${i}`;
        snapshots.push({ box, name });
        add('snapshot-create', () => c.snapshot(box, name));
      } else if (r < 0.8) {
        const s = pick(snapshots);
        const target = `t${i}`;
        goldenOf.set(target, goldenOf.get(s.box)!);
        made.push(target);
        add('snapshot-clone', () => c.cloneSnapshot(s.name, target, { boxId: s.box }));
      } else if (r < 0.86) {
        const s = pick(snapshots.slice(1));
        if (!s) continue;
        add('snapshot-remove', () => c.removeSnapshot(s.name, { boxId: s.box, force: rnd() < 0.5 }));
      } else if (r < 0.97) {
        const base = pick([baseA, baseB, snap0]);
        add('gc', () => c.gc(base));
      } else {
        add('sweep', () => c.gc());
      }
    }

    // Submit all 200 at once, then wait for every outcome.
    const handles = await Promise.all(plan.map((p) => p.start()));
    const outcomes = await Promise.allSettled(handles.map((h) => h.result()));

    const bugs: string[] = [];
    const tally: Record<string, { ok: number; refused: number }> = {};
    outcomes.forEach((o, i) => {
      const kind = plan[i]!.kind;
      tally[kind] ??= { ok: 0, refused: 0 };
      if (o.status === 'fulfilled') tally[kind].ok++;
      else if (o.reason instanceof ForkpointError && LEGITIMATE.has(o.reason.code)) tally[kind].refused++;
      else bugs.push(`${kind} job ${handles[i]!.id}: ${(o.reason as Error).message}`);
    });
    if (process.env.FORKPOINT_TEST_VERBOSE) console.log(seed, JSON.stringify(tally));
    expect(bugs, JSON.stringify(tally)).toEqual([]);
    // The mix must have done real work of every main kind, or it tested nothing.
    for (const kind of ['clone', 'remove-box', 'snapshot-create', 'snapshot-clone']) expect(tally[kind]?.ok ?? 0, `${kind}: ${JSON.stringify(tally)}`).toBeGreaterThan(0);

    await gcSettled(t.client, 60_000);
    expect(await auditHome(t.layout, { goldenOf })).toEqual([]);

    // The final sweep collects everything unreferenced; nothing anyone reads goes with it.
    await (await c.gc()).result();
    await gcSettled(t.client, 60_000);
    expect(await auditHome(t.layout, { goldenOf, noGarbage: true })).toEqual([]);
    const reader = openReader(t.layout.home);
    try {
      // The untouched source boxes are still there and the snapshot nobody removed survived every GC.
      expect(reader.findBase(snap0)).not.toBeNull();
    } finally {
      reader.close();
    }
  });
});
