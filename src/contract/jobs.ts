/**
 * The jobs other services may enqueue with plain BullMQ, and their payloads.
 * Each payload has a zod schema; `parseJobPayload` validates on arrival (a
 * bad payload fails the job at once with a message naming the field) and
 * `jobJsonSchemas()` prints them as JSON Schema for the README / other teams.
 */
import { z } from 'zod';
import { MAX_CLONE_TARGETS } from './clone-targets.js';
import { baseIdField as baseId, boxIdField as boxId, fieldError, opField as op, rootfsKeyField, serverPathField as absolutePath, snapshotNameField as snapshotName } from './fields.js';

/** Where a new box's disk comes from: exactly one of these (the HTTP API takes the same body). */
/** 64 TiB: far past any sandbox disk, well inside what qemu-img and our flatten handle. */
export const MAX_DISK_BYTES = 64 * 2 ** 40;

export const boxSourceFields = {
  sizeBytes: z
    .number()
    .int()
    .positive()
    .max(MAX_DISK_BYTES, `must be at most ${MAX_DISK_BYTES} (64 TiB)`)
    .refine((n) => n % 512 === 0, 'must be a multiple of 512')
    .optional(),
  fromImage: absolutePath.optional(),
  rootfs: rootfsKeyField.optional(),
};
export const oneBoxSource = (p: { sizeBytes?: unknown; fromImage?: unknown; rootfs?: unknown }): boolean =>
  [p.sizeBytes, p.fromImage, p.rootfs].filter((x) => x !== undefined).length === 1;
export const ONE_BOX_SOURCE = 'give exactly one of sizeBytes, fromImage or rootfs';

export const jobSchemas = {
  'box-create': z.object({ op, boxId, ...boxSourceFields }).strict().refine(oneBoxSource, { message: ONE_BOX_SOURCE, path: ['sizeBytes'] }),
  clone: z
    .object({ op, source: boxId, targets: z.array(boxId).min(1).max(MAX_CLONE_TARGETS) })
    .strict()
    .refine((p) => new Set(p.targets).size === p.targets.length, 'targets must be unique')
    .refine((p) => !p.targets.includes(p.source), 'a target cannot be the source box'),
  'snapshot-create': z.object({ op, boxId, name: snapshotName }).strict(),
  'snapshot-remove': z.object({ op, name: snapshotName, boxId: boxId.optional(), force: z.boolean().default(false) }).strict(),
  'snapshot-clone': z.object({ op, name: snapshotName, boxId: boxId.optional(), target: boxId }).strict(),
  'remove-box': z.object({ op, boxId }).strict(),
  'rootfs-import': z.object({ op, key: rootfsKeyField, image: absolutePath }).strict(),
  'rootfs-remove': z.object({ op, key: rootfsKeyField }).strict(),
  gc: z.object({ baseId }).strict(),
  sweep: z.object({}).strict(),
} as const;

export type JobName = keyof typeof jobSchemas;
export type JobPayload<N extends JobName> = z.output<(typeof jobSchemas)[N]>;
export type JobInput<N extends JobName> = z.input<(typeof jobSchemas)[N]>;

export const JOB_NAMES = Object.keys(jobSchemas) as JobName[];

/** Jobs that reclaim space go to their own queue, so a cascade never waits behind a 3000-clone batch. */
export const GC_JOBS: ReadonlySet<JobName> = new Set<JobName>(['gc', 'sweep']);

export function isJobName(value: string): value is JobName {
  return Object.prototype.hasOwnProperty.call(jobSchemas, value);
}

export function parseJobPayload<N extends JobName>(job: N, data: unknown): JobPayload<N> {
  const result = jobSchemas[job].safeParse(data);
  if (result.success) return result.data as JobPayload<N>;
  throw fieldError(result.error, `bad ${job} payload`, { job });
}

export function jobJsonSchemas(): Record<JobName, unknown> {
  return Object.fromEntries(JOB_NAMES.map((n) => [n, z.toJSONSchema(jobSchemas[n], { io: 'input' })])) as Record<JobName, unknown>;
}
