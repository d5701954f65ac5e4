/**
 * waitForRedisClose: a close that ended is clean only if Redis answers, when asked to confirm
 * (ioredis ends a connection between reconnect attempts at once, so BullMQ's close can finish
 * with Redis gone: serve.redis-gone met that race once in CI and exited 0 instead of 3).
 */
import { describe, expect, it } from 'vitest';
import { waitForRedisClose } from '../../src/workers/redis-close-bound.js';

describe('waitForRedisClose after a close that ended', () => {
  it.each([
    { confirmClosed: true, answers: true, closed: true, redisReachable: true },
    { confirmClosed: true, answers: false, closed: false, redisReachable: false },
    { confirmClosed: false, answers: false, closed: true, redisReachable: true },
    { confirmClosed: undefined, answers: false, closed: true, redisReachable: true },
  ])('confirm $confirmClosed, Redis answers $answers: closed $closed', async ({ confirmClosed, answers, closed, redisReachable }) => {
    let asked = 0;
    const outcome = await waitForRedisClose({
      closing: Promise.resolve(),
      running: () => new Map(),
      graceMs: 0,
      boundMs: 100,
      reachable: async () => (asked++, answers),
      ...(confirmClosed === undefined ? {} : { confirmClosed }),
    });
    expect(outcome).toEqual({ closed, cutOff: [], redisReachable });
    expect(asked).toBe(confirmClosed ? 1 : 0);
  });
});
