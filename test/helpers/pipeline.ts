/** A real pipeline on a temp home and the test run's private Redis. */
import { mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { mintBaseId } from '../../src/ids.js';
import { homeLayout, type HomeLayout } from '../../src/layout.js';
import { Forkpoint } from '../../src/producers/client.js';
import { startPipeline, type Pipeline, type PipelineOptions } from '../../src/workers/pipeline.js';

export const TEST_PREFIX = '{fp-test}';

export interface TestPipeline {
  layout: HomeLayout;
  homeId: string;
  redisUrl: string;
  pipeline: Pipeline;
  client: Forkpoint;
  close(): Promise<void>;
}

export async function startTestPipeline(dir: string, o: Partial<PipelineOptions> = {}): Promise<TestPipeline> {
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const layout = homeLayout(realpathSync(home));
  const homeId = o.homeId ?? `t${mintBaseId()}`;
  const redisUrl = inject('redisUrl');
  const pipeline = await startPipeline({ layout, homeId, redisUrl, prefix: TEST_PREFIX, poolSize: 2, shutdownGraceMs: 10_000, ...o });
  const client = await Forkpoint.connect({ redisUrl, homeId, prefix: TEST_PREFIX });
  return {
    layout,
    homeId,
    redisUrl,
    pipeline,
    client,
    async close() {
      await client.close();
      await pipeline.close();
    },
  };
}

/** Wait until the home's GC queue has nothing waiting or running. */
export async function gcSettled(client: Forkpoint, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await client.pending('gc')) > 0) {
    if (Date.now() > deadline) throw new Error('GC queue did not settle');
    await new Promise((r) => setTimeout(r, 25));
  }
}
