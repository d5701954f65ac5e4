/**
 * The shape of every writer command, checked before anything runs (commands
 * arrive as JSON from queues and thread ports). Shape only: ids and names are
 * parsed by the handlers with ids.ts / names.ts so their errors carry the
 * stable E_INVALID_ID / E_INVALID_NAME codes.
 */
import { z } from 'zod';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import type { WriterCommand } from '../types.js';

const op = z.string().min(1).max(255);
const id = z.string();
const disk = z.strictObject({
  basePath: z.string().min(1),
  containerDiskBytes: z.number().int().nonnegative(),
  sizeBytes: z.number().int().nonnegative(),
});

export const commandSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('createBox'), op, boxId: id, baseId: id.nullable(), adopt: z.boolean().optional() }),
  z.strictObject({ type: z.literal('commitBox'), op, boxId: id }),
  z.strictObject({ type: z.literal('abortBox'), op, boxId: id }),
  z.strictObject({ type: z.literal('abortBoxes'), op, boxIds: z.array(id).min(1).max(100_000) }),
  z.strictObject({
    type: z.literal('beginFork'),
    op,
    sourceBox: id,
    kind: z.enum(['snapshot', 'clone_base']),
    name: z.string().optional(),
    targets: z.array(id).max(10_000).optional(),
    mode: z.enum(['move', 'flatten']).optional(),
  }),
  z.strictObject({ type: z.literal('commitFork'), op, disk, parentId: id.nullable() }),
  z.strictObject({ type: z.literal('abortFork'), op }),
  z.strictObject({ type: z.literal('addRefs'), op, baseId: id, boxIds: z.array(id).min(1).max(100_000) }),
  z.strictObject({ type: z.literal('removeBox'), op, boxId: id }),
  z.strictObject({ type: z.literal('finishRemoveBox'), boxId: id }),
  z.strictObject({ type: z.literal('removeBoxes'), op, boxIds: z.array(id).min(1).max(100_000) }),
  z.strictObject({ type: z.literal('finishRemoveBoxes'), boxIds: z.array(id).min(1).max(100_000) }),
  z.strictObject({ type: z.literal('claimGc'), baseId: id }),
  z.strictObject({ type: z.literal('finishGc'), baseId: id }),
  z.strictObject({ type: z.literal('removeSnapshot'), op, baseId: id, force: z.boolean() }),
  z.strictObject({ type: z.literal('registerRootfs'), op, key: z.string(), disk }),
  z.strictObject({ type: z.literal('removeRootfs'), op, baseId: id }),
  z.strictObject({ type: z.literal('pruneJournal'), before: z.number().int().nonnegative() }),
  z.strictObject({ type: z.literal('beginRestore'), op, boxId: id, baseId: id }),
  z.strictObject({ type: z.literal('commitRestore'), op }),
  z.strictObject({ type: z.literal('abortRestore'), op }),
  z.strictObject({ type: z.literal('beginCompact'), op, baseId: id }),
  z.strictObject({ type: z.literal('commitCompact'), op, disk, boxIds: z.array(id).max(100_000) }),
  z.strictObject({ type: z.literal('abortCompact'), op }),
  z.strictObject({ type: z.literal('beginImport'), op, boxId: id, layers: z.array(z.strictObject({ digest: z.string().regex(/^sha256:[a-f0-9]{64}$/), format: z.enum(['qcow2', 'raw']) })).max(8) }),
  z.strictObject({ type: z.literal('commitImport'), op, disks: z.array(disk).max(8) }),
  z.strictObject({ type: z.literal('abortImport'), op }),
]);

/** Validate an incoming command; E_BAD_PAYLOAD names the field that is wrong. */
export function parseCommand(input: unknown): WriterCommand {
  const parsed = commandSchema.safeParse(input);
  if (parsed.success) return parsed.data as WriterCommand;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') || '(command)';
  const type = (input as { type?: unknown } | null)?.type;
  throw new ForkpointError(
    ErrorCodes.BAD_PAYLOAD,
    `bad writer command${typeof type === 'string' ? ` ${type}` : ''}: ${field}: ${issue?.message ?? 'invalid'}`,
    { field },
  );
}
