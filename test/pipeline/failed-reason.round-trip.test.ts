import { describe, expect, it } from 'vitest';
import { ErrorCodes, ForkpointError } from '../../src/errors.js';
import { errorFromFailedReason, failedReason } from '../../src/contract/failed-reason.js';

describe('failed job reasons', () => {
  it('start with the code (for plain BullMQ producers) and round-trip code, message and details', () => {
    const err = new ForkpointError(ErrorCodes.NOT_FOUND, '/x/img.qcow2: no such file\nsecond line', { path: '/x/img.qcow2', field: 'fromImage' });
    const reason = failedReason(err);
    expect(reason.startsWith('E_NOT_FOUND: /x/img.qcow2: no such file')).toBe(true);
    expect(errorFromFailedReason(reason).toJSON()).toEqual(err.toJSON());
  });

  it('keeps a reason without details, and wraps one it does not know as E_IO', () => {
    expect(errorFromFailedReason('E_CONFLICT: busy').toJSON()).toEqual({ code: 'E_CONFLICT', message: 'busy', details: {} });
    expect(errorFromFailedReason('E_MADE_UP: x').code).toBe('E_IO');
    expect(errorFromFailedReason('TypeError: boom').message).toBe('job failed: TypeError: boom');
  });
});
