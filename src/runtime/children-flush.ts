/**
 * FORKPOINT_CHILDREN_FLUSH: how a batch clone makes its children durable
 * (file-steps/steps.ts childrenFlushModeStep). Read where it is used (the file
 * threads read their own copy of the environment) and checked once at start
 * (config.ts), so a value nobody knows is refused before anything runs.
 */
import { ErrorCodes, ForkpointError } from '../errors.js';

export type ChildrenFlushSetting = 'auto' | 'syncfs' | 'fsync';

export function childrenFlushSetting(env: NodeJS.ProcessEnv = process.env): ChildrenFlushSetting {
  const value = env.FORKPOINT_CHILDREN_FLUSH;
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (value === 'syncfs' || value === 'fsync') return value;
  throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `FORKPOINT_CHILDREN_FLUSH must be auto, syncfs or fsync, got "${value}"`, { field: 'FORKPOINT_CHILDREN_FLUSH' });
}
