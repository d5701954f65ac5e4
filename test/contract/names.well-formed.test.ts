/**
 * Names become folder names, so a name with no UTF-8 form (a lone surrogate)
 * is refused everywhere a name enters: the name rule, a queued job's payload,
 * a JSON body and a URL path over HTTP, each as E_INVALID_NAME in our shape.
 * (Stored, "\ud800" was the bytes ED A0 80 while its folder became EF BF BD.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJobPayload } from '../../src/contract/jobs.js';
import { ErrorCodes } from '../../src/errors.js';
import { nameProblem, parseBoxId, parseSnapshotName } from '../../src/names.js';
import { call, startTestService, type TestService } from '../http/support.js';

describe('names: well-formed Unicode only', () => {
  it.each([
    ['a lone high surrogate', '\ud800'],
    ['a lone low surrogate', 'box-\udc00'],
    ['a pair in the wrong order', '\udc00\ud800'],
  ])('refuses %s', (_what, name) => {
    expect(nameProblem(name)).toMatch(/well-formed Unicode/);
    expect(() => parseBoxId(name)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_NAME }));
    expect(() => parseSnapshotName(name)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_NAME }));
    expect(() => parseJobPayload('remove-box', { op: 'o1', boxId: name })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_NAME }));
  });

  it('keeps names outside the BMP (a surrogate pair is one character)', () => {
    expect(nameProblem('box-😀')).toBeNull();
    expect(parseBoxId('ünïcode-名前')).toBe('ünïcode-名前');
  });
});

describe('names over HTTP', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('a lone surrogate in a JSON body is E_INVALID_NAME (400)', async () => {
    const r = await call(s.url, 'POST', '/api/boxes', { rawBody: '{"boxId":"\\ud800","sizeBytes":1048576}', headers: { 'content-type': 'application/json' } });
    expect([r.status, r.body.error?.code]).toEqual([400, 'E_INVALID_NAME']);
  });

  it('bytes that are not UTF-8 in a URL path are E_INVALID_NAME (400), not a framework error', async () => {
    for (const [method, path] of [
      ['DELETE', '/api/boxes/%ED%A0%80'],
      ['GET', '/api/boxes/%ff'],
    ] as const) {
      const r = await call(s.url, method, path);
      expect([r.status, r.body.error?.code], `${method} ${path}: ${JSON.stringify(r.body)}`).toEqual([400, 'E_INVALID_NAME']);
    }
  });
});
