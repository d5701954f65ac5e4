/** An op id joins a retried request to the first job, and refuses to stand for a different request. */
import { describe, expect, it } from 'vitest';
import { useTestPipelines } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-opreuse-');
const startPipeline = useTestPipelines();

describe('client: op ids', () => {
  it('the same request under the same op joins the first job; another request under it is refused', async () => {
    const t = await startPipeline(tmp());
    const first = await t.client.createBox('one', { sizeBytes: 1 << 20 }, 'same-op');
    const again = await t.client.createBox('one', { sizeBytes: 1 << 20 }, 'same-op');
    expect(again.id).toBe(first.id);
    expect(await again.result()).toMatchObject({ boxId: 'one' });
    await expect(t.client.createBox('two', { sizeBytes: 1 << 20 }, 'same-op')).rejects.toMatchObject({
      code: 'E_CONFLICT',
      details: { field: 'op' },
    });
  });
});

describe('client: sweeps', () => {
  it('sweeps asked for while one waits collapse into it', async () => {
    const t = await startPipeline(tmp());
    await t.pipeline.close(); // nobody consumes: the first sweep stays waiting
    const first = await t.client.gc();
    const second = await t.client.gc();
    expect(second.id).toBe(first.id);
    const waiting = await t.client.queue('gc').getJobs(['waiting']);
    expect(waiting.filter((j) => j.name === 'sweep' && j.id === first.id)).toHaveLength(1);
  });
});
