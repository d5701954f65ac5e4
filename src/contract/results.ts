/**
 * What each job returns (BullMQ's `returnvalue`), as zod schemas: printed as
 * JSON Schema by `forkpoint jobs --json` for producers that read results, and
 * held to the flows by the compiler (workers/flows/results-fit.ts fails to
 * compile when a flow's result drifts from its schema). Results may gain
 * fields; a producer should ignore the ones it does not know.
 */
import { z } from 'zod';
import { ErrorCodes } from '../errors.js';
import type { JobName } from './jobs.js';

const id = z.string();
const ids = z.array(z.string());
const error = z.object({ code: z.enum(Object.values(ErrorCodes) as [string, ...string[]]), message: z.string(), details: z.record(z.string(), z.unknown()) });
const gcResult = z.object({
  baseId: id,
  collected: z.boolean(),
  reason: z.string().optional().describe('why it was not collected (something still reads it, already gone …)'),
  reclaimedBytes: z.number(),
});

export const jobResultSchemas = {
  'box-create': z.object({ boxId: id, diskPath: z.string().describe("the box's container disk") }),
  clone: z.object({ baseId: id.describe('the base the source and the targets now read'), source: id, targets: ids }),
  'snapshot-create': z.object({ baseId: id, boxId: id, name: z.string(), sizeBytes: z.number() }),
  'snapshot-remove': z.object({ baseId: id, name: z.string(), action: z.enum(['claimed', 'tombstoned']).describe('tombstoned: still read, hidden until its last reader goes') }),
  'snapshot-clone': z.object({ baseId: id, target: id }),
  'snapshot-restore': z.object({ boxId: id, name: z.string(), baseId: id, released: ids.describe('bases the box no longer reads (GC was asked about each)') }),
  'remove-box': z.union([
    z.object({ boxId: id, touchedBases: ids }).describe('one box (boxId)'),
    z
      .object({
        outcomes: z.array(
          z.union([
            z.object({ boxId: id, outcome: z.literal('removed'), touchedBases: ids }),
            z.object({ boxId: id, outcome: z.enum(['unknown', 'failed', 'refused']), error }),
          ]),
        ),
        touchedBases: ids,
      })
      .describe('many boxes (boxIds): one outcome each'),
  ]),
  'box-import': z.object({
    boxId: id,
    manifest: z.string().describe('digest of the OCI manifest imported'),
    layers: z.array(z.object({ digest: z.string(), baseId: id, reused: z.boolean().describe('true: the home had this layer already') })).describe('the bases of the new box, bottom first'),
  }),
  'rootfs-import': z.object({ baseId: id, key: z.string(), basePath: z.string(), imported: z.boolean().describe('false: the key already had this image') }),
  'rootfs-remove': z.object({ baseId: id, key: z.string(), removed: z.boolean() }),
  gc: gcResult,
  sweep: z.object({
    bases: z.array(gcResult).describe('every base the GC plan found, in its order, with what its collection did'),
    collected: z.number(),
    reclaimedBytes: z.number(),
  }),
  compact: z.object({ baseId: id, compacted: z.boolean(), reason: z.string().optional(), copyId: id.optional(), repointed: ids }),
} satisfies Record<JobName, z.ZodType>;

export function jobResultJsonSchemas(): Record<JobName, unknown> {
  return Object.fromEntries(Object.entries(jobResultSchemas).map(([n, s]) => [n, z.toJSONSchema(s, { io: 'output' })])) as Record<JobName, unknown>;
}
