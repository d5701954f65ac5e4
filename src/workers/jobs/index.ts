/** One handler per job name; payloads are validated before a handler sees them. */
import { parseJobPayload, type JobName, type JobPayload } from '../../producers/jobs.js';
import { boxCreateJob, removeBoxJob } from './box.js';
import { cloneJob } from './clone.js';
import type { JobContext } from './context.js';
import { gcJob, sweepJob } from './gc.js';
import { rootfsImportJob, rootfsRemoveJob } from './rootfs.js';
import { snapshotCloneJob, snapshotCreateJob, snapshotRemoveJob } from './snapshot.js';

type Handlers = { [N in JobName]: (ctx: JobContext, payload: JobPayload<N>) => Promise<unknown> };

export const jobHandlers: Handlers = {
  'box-create': boxCreateJob,
  clone: cloneJob,
  'snapshot-create': snapshotCreateJob,
  'snapshot-remove': snapshotRemoveJob,
  'snapshot-clone': snapshotCloneJob,
  'remove-box': removeBoxJob,
  'rootfs-import': rootfsImportJob,
  'rootfs-remove': rootfsRemoveJob,
  gc: gcJob,
  sweep: sweepJob,
};

export async function runJob(ctx: JobContext, name: JobName, data: unknown): Promise<unknown> {
  const payload = parseJobPayload(name, data);
  return (jobHandlers[name] as (c: JobContext, p: unknown) => Promise<unknown>)(ctx, payload);
}
