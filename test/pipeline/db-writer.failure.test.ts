/**
 * The DB writer thread dying is reported once, to every listener, including
 * one that subscribes after the fact (an owner still starting up must not miss
 * it); waiting and later commands fail with E_IO naming the writer; and close()
 * still returns.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startDbWriter } from '../../src/workers/db-writer-client.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-writer-fail-');
const savedFault = process.env.FORKPOINT_FAULT;
afterEach(() => {
  if (savedFault === undefined) delete process.env.FORKPOINT_FAULT;
  else process.env.FORKPOINT_FAULT = savedFault;
});

describe('db writer thread: dying', () => {
  it('fails the command in flight and later ones, tells early and late listeners, and close() returns', async () => {
    // The thread copies the environment when it starts: arm its flush to throw, as a crash would.
    process.env.FORKPOINT_FAULT = 'writer:flush:throw';
    const writer = await startDbWriter(tmp());
    delete process.env.FORKPOINT_FAULT;
    const early: Error[] = [];
    writer.onFailure((err) => early.push(err));

    await expect(writer.apply({ type: 'createBox', op: 'o1', boxId: 'a', baseId: null })).rejects.toMatchObject({
      code: 'E_IO',
      message: expect.stringMatching(/database writer thread died: injected fault at writer:flush/),
    });
    const late: Error[] = [];
    writer.onFailure((err) => late.push(err));
    expect(early).toHaveLength(1);
    expect(late).toEqual(early);
    await expect(writer.apply({ type: 'createBox', op: 'o2', boxId: 'b', baseId: null })).rejects.toBe(early[0]);
    await writer.close();
  });
});
