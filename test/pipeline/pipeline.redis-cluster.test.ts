/**
 * The pipeline, unchanged, on a 3-master Redis Cluster: two homes share it, a
 * batch clone and a GC cascade run through it, and the hash-tagged prefix puts
 * every queue key in one slot (so on one master). A prefix without a hash tag
 * is refused before anything opens.
 */
import { mkdirSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { homeLayout } from '../../src/layout.js';
import { Forkpoint } from '../../src/producers/client.js';
import { startPipeline, type Pipeline } from '../../src/workers/pipeline.js';
import { auditHome, gcSettled, goldenImage } from '../helpers/pipeline.js';
import { startTestCluster, type TestCluster } from '../helpers/redis-cluster.js';
import { useTmpDirs } from '../helpers/tmp.js';

const PREFIX = '{fp-cluster}';
const tmp = useTmpDirs('fp-cluster-');
let cluster: TestCluster;
const open: { pipeline: Pipeline; client: Forkpoint }[] = [];

beforeAll(async () => {
  cluster = await startTestCluster();
}, 60_000);
afterAll(async () => {
  for (const h of open.splice(0)) {
    await h.client.close();
    await h.pipeline.close();
  }
  await cluster?.stop();
});

async function home(homeId: string) {
  const dir = tmp();
  mkdirSync(join(dir, 'home'));
  const layout = homeLayout(realpathSync(join(dir, 'home')));
  const pipeline = await startPipeline({ layout, homeId, redisUrl: cluster.url, prefix: PREFIX, poolSize: 2, shutdownGraceMs: 10_000 });
  const client = await Forkpoint.connect({ redisUrl: cluster.url, homeId, prefix: PREFIX });
  open.push({ pipeline, client });
  return { dir, layout, client };
}

describe('pipeline on a Redis Cluster', () => {
  it('two homes: a batch clone each, then a 3-level GC cascade; every queue key in one slot', { timeout: 120_000 }, async () => {
    const [a, b] = [await home(`ca${Date.now()}`), await home(`cb${Date.now()}`)];
    const ga = goldenImage(join(a.dir, 'ga.qcow2'), 0x1a);
    const gb = goldenImage(join(b.dir, 'gb.qcow2'), 0x2b);
    await Promise.all([(await a.client.createBox('src', { fromImage: ga })).result(), (await b.client.createBox('src', { fromImage: gb })).result()]);

    // A batch clone in each home at once; then two more clones of A's source nest its chain 3 deep.
    const targets = Array.from({ length: 24 }, (_, i) => `t${i}`);
    const [ra, rb] = await Promise.all([(await a.client.clone('src', targets)).result(), (await b.client.clone('src', targets.slice(0, 8))).result()]);
    expect([ra.targets.length, rb.targets.length]).toEqual([24, 8]);
    for (const t of ['n1', 'n2']) await (await a.client.clone('src', [t])).result();
    const golden = (g: string, ids: string[]) => new Map(ids.map((id) => [id, g]));
    expect(await auditHome(a.layout, { goldenOf: golden(ga, ['src', ...targets, 'n1', 'n2']) })).toEqual([]);
    expect(await auditHome(b.layout, { goldenOf: golden(gb, ['src', ...targets.slice(0, 8)]) })).toEqual([]);
    expect(readdirSync(a.layout.basesDir)).toHaveLength(3);

    // The hash tag at work: every key of both homes' queues is on the one master that owns its slot.
    const keysPerNode = cluster.ports.map((p) => cluster.cli(p, '--scan', '--pattern', `${PREFIX}:*`).split('\n').filter(Boolean).length);
    expect(keysPerNode.filter((n) => n > 0), `keys per master: ${keysPerNode.join(', ')}`).toHaveLength(1);
    const slot = Number(cluster.cli(cluster.ports[0]!, 'CLUSTER', 'KEYSLOT', PREFIX.slice(1, -1)).trim());
    const owner = cluster.ports[keysPerNode.findIndex((n) => n > 0)]!;
    expect(Number(cluster.cli(owner, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot)).trim())).toBe(keysPerNode.find((n) => n > 0));

    // Remove every box of A in one request each: the bases go one GC job at a time, each asking for its parent.
    for (const id of ['src', ...targets, 'n1', 'n2']) await (await a.client.removeBox(id)).result();
    await gcSettled(a.client);
    expect(readdirSync(a.layout.basesDir)).toEqual([]);
    expect(await auditHome(a.layout, { noGarbage: true })).toEqual([]);
    // B never saw A's jobs: its clone base is still read by its boxes.
    expect(readdirSync(b.layout.basesDir)).toHaveLength(1);
  });

  it('refuses a prefix without a hash tag before anything opens', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'home'));
    const layout = homeLayout(realpathSync(join(dir, 'home')));
    await expect(startPipeline({ layout, homeId: 'cx', redisUrl: cluster.url, prefix: 'plain', poolSize: 1 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT, details: { field: 'prefix' } });
    await expect(Forkpoint.connect({ redisUrl: cluster.url, homeId: 'cx', prefix: 'plain' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    expect(readdirSync(layout.home)).toEqual([]);
  });
});
