/**
 * What a Redis that would not take a command becomes: a MISCONF refusal (it cannot save) is
 * E_NO_SPACE for a full disk, else E_REDIS_UNAVAILABLE; a connection refused at once is
 * E_REDIS_UNAVAILABLE; a ForkpointError (ours already: its message may quote one of these) and
 * anything else are left as they are. The texts are Redis 7's and ioredis's own.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, ForkpointError } from '../../src/errors.js';
import { redisRefusesWrites, redisUnavailableFrom } from '../../src/runtime/redis-refusal.js';

const AOF_FULL = 'MISCONF Errors writing to the AOF file: No space left on device script: 1e9bb7deb6219644a634d32c430ce15ed39a377e, on @user_script:119.';
const RDB_FAILED = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled.";
const ours = new ForkpointError(ErrorCodes.REDIS_UNAVAILABLE, 'the Redis of forkpoint serve stopped answering (Connection is closed.) while this command waited');

const cases: { what: string; err: unknown; code: string | null; refusal: boolean }[] = [
  { what: 'an AOF write on a full disk', err: new Error(AOF_FULL), code: ErrorCodes.NO_SPACE, refusal: true },
  { what: 'a failed RDB save', err: new Error(RDB_FAILED), code: ErrorCodes.REDIS_UNAVAILABLE, refusal: true },
  { what: 'a closed connection', err: new Error('Connection is closed.'), code: ErrorCodes.REDIS_UNAVAILABLE, refusal: false },
  { what: 'the offline queue off', err: new Error("Stream isn't writeable and enableOfflineQueue options is false"), code: ErrorCodes.REDIS_UNAVAILABLE, refusal: false },
  { what: 'an error of ours quoting one', err: ours, code: null, refusal: false },
  { what: 'anything else', err: new Error('ERR unknown command'), code: null, refusal: false },
];

describe('redis refusals, typed', () => {
  it.each(cases)('$what', ({ err, code, refusal }) => {
    const typed = redisUnavailableFrom(err, 'unix:/run/redis.sock');
    if (code === null) expect(typed).toBe(err);
    else expect(typed).toMatchObject({ code, message: expect.stringContaining('Redis at unix:/run/redis.sock') });
    expect(redisRefusesWrites(err) !== null).toBe(refusal);
  });

  it('says what Redis said, without the script it was running', () => {
    expect((redisRefusesWrites(new Error(AOF_FULL)) as ForkpointError).message).toBe(
      'Redis refuses writes: it cannot save its data (MISCONF Errors writing to the AOF file: No space left on device); free space on its disk, then retry',
    );
  });
});
