/**
 * The jobs other services may enqueue with plain BullMQ, and their payloads.
 * Each payload has a zod schema; `parseJobPayload` validates on arrival (a
 * bad payload fails the job at once with a message naming the field) and
 * `jobJsonSchemas()` prints them as JSON Schema for the README / other teams.
 */
import { z } from 'zod';
import { MAX_CLONE_TARGETS } from './clone-targets.js';
import { baseIdField as baseId, boxIdField as boxId, boxIdListField, fieldError, opField as op, rootfsKeyField, serverPathField as absolutePath, snapshotNameField as snapshotName } from './fields.js';

/** Where a new box's disk comes from: exactly one of these (the HTTP API takes the same body). */
/** 64 TiB: far past any sandbox disk, well inside what qemu-img and our flatten handle. */
export const MAX_DISK_BYTES = 64 * 2 ** 40;

export const boxSourceFields = {
  sizeBytes: z
    .number()
    .int()
    .positive()
    .max(MAX_DISK_BYTES, `must be at most ${MAX_DISK_BYTES} (64 TiB)`)
    .multipleOf(512, 'must be a multiple of 512')
    .optional(),
  fromImage: absolutePath.optional(),
  rootfs: rootfsKeyField.optional(),
};
export const oneBoxSource = (p: { sizeBytes?: unknown; fromImage?: unknown; rootfs?: unknown }): boolean =>
  [p.sizeBytes, p.fromImage, p.rootfs].filter((x) => x !== undefined).length === 1;
export const ONE_BOX_SOURCE = 'give exactly one of sizeBytes, fromImage or rootfs';
/** `oneBoxSource` as JSON Schema says it (the check itself stays the refine, for its message). */
export const ONE_BOX_SOURCE_SCHEMA = { oneOf: [{ required: ['sizeBytes'] }, { required: ['fromImage'] }, { required: ['rootfs'] }], description: ONE_BOX_SOURCE };

/** Boxes one remove-box job takes (a CLI with more sends several jobs). */
export const MAX_REMOVE_BOXES = 10_000;

export const jobSchemas = {
  'box-create': z.object({ op, boxId, ...boxSourceFields }).strict().refine(oneBoxSource, { message: ONE_BOX_SOURCE, path: ['sizeBytes'] }).meta(ONE_BOX_SOURCE_SCHEMA),
  clone: z
    .object({ op, source: boxId, targets: boxIdListField(1, MAX_CLONE_TARGETS).meta({ uniqueItems: true }) })
    .strict()
    .refine((p) => new Set(p.targets).size === p.targets.length, 'targets must be unique')
    .refine((p) => !p.targets.includes(p.source), 'a target cannot be the source box'),
  'snapshot-create': z.object({ op, boxId, name: snapshotName }).strict(),
  'snapshot-remove': z.object({ op, name: snapshotName, boxId: boxId.optional(), force: z.boolean().default(false) }).strict(),
  'snapshot-clone': z.object({ op, name: snapshotName, boxId: boxId.optional(), target: boxId }).strict(),
  /** The box's disk becomes a fresh child of its snapshot `name`; checkInUse: refuse (E_IMAGE_IN_USE) while QEMU holds the disk open. */
  'snapshot-restore': z.object({ op, boxId, name: snapshotName, checkInUse: z.boolean().default(false) }).strict(),
  // One box (`boxId`) or many in one job (`boxIds`: one transaction, folders in parallel, one GC request per base).
  'remove-box': z
    .object({ op, boxId: boxId.optional(), boxIds: boxIdListField(1, MAX_REMOVE_BOXES).optional() })
    .strict()
    .refine((p) => (p.boxId === undefined) !== (p.boxIds === undefined), { message: 'give exactly one of boxId or boxIds', path: ['boxId'] })
    .refine((p) => p.boxIds === undefined || new Set(p.boxIds).size === p.boxIds.length, { message: 'boxIds must be unique', path: ['boxIds'] }),
  /** A new box from an OCI image layout (`forkpoint box export`): layers verified, reused by digest (workers/flows/import.ts). */
  'box-import': z
    .object({ op, layout: absolutePath, tag: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/, 'must be an OCI tag: 1-128 of [A-Za-z0-9_.-]').optional(), boxId })
    .strict(),
  'rootfs-import': z.object({ op, key: rootfsKeyField, image: absolutePath }).strict(),
  'rootfs-remove': z.object({ op, key: rootfsKeyField }).strict(),
  gc: z.object({ baseId }).strict(),
  sweep: z.object({}).strict(),
  /** Background compaction of a deep base: a flattened copy, its box readers re-pointed (workers/flows/compact.ts). */
  compact: z.object({ baseId }).strict(),
} as const;

export type JobName = keyof typeof jobSchemas;
export type JobPayload<N extends JobName> = z.output<(typeof jobSchemas)[N]>;
export type JobInput<N extends JobName> = z.input<(typeof jobSchemas)[N]>;

export const JOB_NAMES = Object.keys(jobSchemas) as JobName[];

/** Jobs that reclaim space go to their own queue, so a cascade never waits behind a 3000-clone batch. */
export const GC_JOBS: ReadonlySet<JobName> = new Set<JobName>(['gc', 'sweep', 'compact']);

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
