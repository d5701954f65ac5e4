/**
 * waitForRedisClose: a close that ended is clean only if Redis answers, when asked to confirm
 * (ioredis ends a connection between reconnect attempts at once, so BullMQ's close can finish
 * with Redis gone: serve.redis-gone met that race once in CI and exited 0 instead of 3).
 */
import { describe, expect, it } from 'vitest';
import { waitForRedisClose } from '../../src/workers/redis-close-bound.js';

describe('waitForRedisClose after a close that ended', () => {
  it.each([
    { confirmClosed: true, answersFrom: 1, closed: true, looks: 1 },
    { confirmClosed: true, answersFrom: 3, closed: true, looks: 3 }, // a private server restarted meanwhile
    { confirmClosed: true, answersFrom: Infinity, closed: false, looks: 'several' },
    { confirmClosed: false, answersFrom: Infinity, closed: true, looks: 0 },
    { confirmClosed: undefined, answersFrom: Infinity, closed: true, looks: 0 },
  ])('confirm $confirmClosed, Redis answers from look $answersFrom: closed $closed', async ({ confirmClosed, answersFrom, closed, looks }) => {
    let asked = 0;
    const outcome = await waitForRedisClose({
      closing: Promise.resolve(),
      running: () => new Map(),
      graceMs: 0,
      boundMs: 300,
      reachable: async () => ++asked >= answersFrom,
      ...(confirmClosed === undefined ? {} : { confirmClosed }),
    });
    expect(outcome).toEqual({ closed, cutOff: [], redisReachable: closed });
    if (looks === 'several') expect(asked).toBeGreaterThan(1);
    else expect(asked).toBe(looks);
  });
});
