/**
 * pipeline.closeOutcome() with Redis gone mid-batch: the running clone job hangs on Redis (its
 * progress, the hand-back), so BullMQ's close would never return. The close still does, within
 * the grace plus the Redis bound, naming the job it cut off; the pool and writer close as usual,
 * and the home is as after a crash: recovery settles it, and every box left reads its golden bytes.
 */
import { join, resolve } from 'node:path';
import { realpathSync, mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { homeLayout } from '../../src/layout.js';
import { mintBaseId } from '../../src/ids.js';
import { Forkpoint } from '../../src/producers/client.js';
import { startEmbeddedRedis } from '../../src/runtime/embedded-redis.js';
import { recover } from '../../src/workers/recovery/index.js';
import { startPipeline } from '../../src/workers/pipeline.js';
import { openReader } from '../../src/db/reader.js';
import { TEST_PREFIX, auditHome, goldenImage, waitFor } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-close-redis-gone-');

describe('pipeline: close with Redis gone mid-batch', () => {
  it('returns, names the job cut off, and leaves a home that recovery settles', { timeout: 60_000 }, async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'home'), { recursive: true });
    const layout = homeLayout(realpathSync(join(dir, 'home')));
    const redis = await startEmbeddedRedis(join(dir, 'redis-run'));
    const homeId = `t${mintBaseId()}`;
    const pipeline = await startPipeline({ layout, homeId, redisUrl: redis.url, prefix: TEST_PREFIX, poolSize: 2, shutdownGraceMs: 0 });
    const client = await Forkpoint.connect({ redisUrl: redis.url, homeId, prefix: TEST_PREFIX });
    try {
      const golden = goldenImage(resolve(dir, 'golden.qcow2'), 0x2d);
      await (await client.createBox('src', { fromImage: golden })).result();
      const handle = await client.clone('src', { count: 600, prefix: 'g-' });
      let started = false;
      handle.onProgress((p) => {
        if (p.done > 0 && !started) {
          started = true;
          process.kill(redis.pid, 'SIGSTOP'); // alive, never answers
        }
      });
      await waitFor('the batch to commit children', () => started, 60_000, 5);
      const outcome = await pipeline.closeOutcome(0);
      expect(outcome).toEqual({ closed: false, cutOff: [`ops:${handle.id}`], redisReachable: false });

      const report = await recover(layout.home, { repair: true });
      expect(report.problems.filter((p) => !p.repaired), JSON.stringify(report.problems)).toEqual([]);
      const reader = openReader(layout.home);
      const boxes = reader.listBoxes({ state: 'ready' }).map((b) => b.id);
      reader.close();
      expect(boxes).toContain('src');
      expect(await auditHome(layout, { goldenOf: new Map(boxes.map((id) => [id, golden])) })).toEqual([]);
    } finally {
      process.kill(redis.pid, 'SIGCONT');
      await client.close();
      await redis.stop();
    }
  });
});
