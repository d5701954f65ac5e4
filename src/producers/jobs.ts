/**
 * The jobs other services may enqueue with plain BullMQ, and their payloads.
 * Each payload has a zod schema; `parseJobPayload` validates on arrival (a
 * bad payload fails the job at once with a message naming the field) and
 * `jobJsonSchemas()` prints them as JSON Schema for the README / other teams.
 */
import { z } from 'zod';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { BASE_ID_LENGTH } from '../ids.js';
import { nameProblem } from '../names.js';
import { MAX_CLONE_TARGETS } from './clone-targets.js';

const name = (what: string) =>
  z.string().superRefine((value, ctx) => {
    const problem = nameProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: `${what} ${problem}` });
  });

const boxId = name('box id').refine((v) => v !== '__global__', 'box id "__global__" is reserved for the rootfs cache');
const snapshotName = name('snapshot name');
/** Operation ids make a job idempotent: a retried job re-uses its op and the writer returns the first result. */
const op = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'op must be 1-64 characters of [A-Za-z0-9_-]');
const baseId = z.string().regex(new RegExp(`^[0-9A-Za-z]{${BASE_ID_LENGTH}}$`), `baseId must be ${BASE_ID_LENGTH} characters of [0-9A-Za-z]`);
const absolutePath = z.string().min(1).refine((p) => p.startsWith('/') && !p.includes('\0'), 'must be an absolute path');

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
  rootfs: name('rootfs key').optional(),
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
  'rootfs-import': z.object({ op, key: name('rootfs key'), image: absolutePath }).strict(),
  'rootfs-remove': z.object({ op, key: name('rootfs key') }).strict(),
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
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.') || '(payload)';
  throw new ForkpointError(ErrorCodes.BAD_PAYLOAD, `bad ${job} payload: ${field}: ${issue.message}`, { field, job });
}

export function jobJsonSchemas(): Record<JobName, unknown> {
  return Object.fromEntries(JOB_NAMES.map((n) => [n, z.toJSONSchema(jobSchemas[n], { io: 'input' })])) as Record<JobName, unknown>;
}
