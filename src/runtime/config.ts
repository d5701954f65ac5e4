/**
 * Where a command's settings come from: flags, then environment, then
 * defaults. Resolved once per process; pure apart from reading env and the
 * home's id file.
 */
import { cpus, homedir } from 'node:os';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { resolve } from 'node:path';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** A Redis Cluster hash tag, so every key of every queue lands in one slot. */
export const DEFAULT_PREFIX = '{forkpoint}';

export interface ConfigFlags {
  home?: string;
  redis?: string;
  prefix?: string;
  poolSize?: number;
}

export interface Config {
  home: string;
  /** The Redis URL to use, and whether the user asked for it (then we never start our own). */
  redisUrl: string;
  redisExplicit: boolean;
  prefix: string;
  /** Piscina threads for file work. */
  poolSize: number;
}

export function resolveConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const home = resolve(flags.home ?? env.FORKPOINT_HOME ?? resolve(homedir(), '.forkpoint'));
  const explicitUrl = flags.redis ?? env.REDIS_URL;
  return {
    home,
    redisUrl: explicitUrl ?? DEFAULT_REDIS_URL,
    redisExplicit: explicitUrl !== undefined,
    prefix: flags.prefix ?? env.FORKPOINT_PREFIX ?? DEFAULT_PREFIX,
    poolSize: flags.poolSize ?? poolSizeFrom(env.FORKPOINT_POOL_SIZE),
  };
}

/** FORKPOINT_POOL_SIZE: file threads, an integer ≥ 1; unset or empty means one per CPU. */
function poolSizeFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return Math.max(1, cpus().length);
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `FORKPOINT_POOL_SIZE must be an integer from 1 to 256, got "${value}"`, { field: 'FORKPOINT_POOL_SIZE' });
  }
  return n;
}
