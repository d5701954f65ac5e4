/** One flow per job name; payloads are validated before a flow sees them. Both drivers run these. */
import { parseJobPayload, type JobName, type JobPayload } from '../../contract/jobs.js';
import { boxCreateJob, removeBoxJob } from './box.js';
import { cloneJob } from './clone.js';
import { compactJob } from './compact.js';
import { boxImportJob } from './import.js';
import type { JobContext } from './context.js';
import { gcJob, sweepJob } from './gc.js';
import { rootfsImportJob, rootfsRemoveJob } from './rootfs.js';
import { snapshotCloneJob, snapshotCreateJob, snapshotRemoveJob } from './snapshot.js';
import { snapshotRestoreJob } from './restore.js';

export const jobHandlers = {
  'box-create': boxCreateJob,
  clone: cloneJob,
  'snapshot-create': snapshotCreateJob,
  'snapshot-remove': snapshotRemoveJob,
  'snapshot-clone': snapshotCloneJob,
  'snapshot-restore': snapshotRestoreJob,
  'remove-box': removeBoxJob,
  'box-import': boxImportJob,
  'rootfs-import': rootfsImportJob,
  'rootfs-remove': rootfsRemoveJob,
  gc: gcJob,
  sweep: sweepJob,
  compact: compactJob,
} satisfies { [N in JobName]: (ctx: JobContext, payload: JobPayload<N>) => Promise<unknown> };

export type JobResult<N extends JobName> = Awaited<ReturnType<(typeof jobHandlers)[N]>>;

/** Validate `data` as the payload of `name` (a bad one fails with E_BAD_PAYLOAD, naming the field) and run its flow. */
export function runFlow<N extends JobName>(ctx: JobContext, name: N, data: unknown): Promise<JobResult<N>> {
  const payload = parseJobPayload(name, data);
  return (jobHandlers[name] as unknown as (c: JobContext, p: JobPayload<N>) => Promise<JobResult<N>>)(ctx, payload);
}
