/** forkpoint's library surface. */
export * from './errors.js';
export * from './ids.js';
export * from './names.js';
export { Forkpoint, type ConnectOptions, type JobHandle, type JobProgress } from './producers/client.js';
export { jobSchemas, jobJsonSchemas, parseJobPayload, type JobName, type JobPayload, type JobInput } from './producers/jobs.js';
export { queueName, gcJobId, opJobId } from './producers/queues.js';
export { buildForest, planGc, type Forest, type ForestBase } from './producers/forest.js';
export { BaseDiskManager } from './db/manager.js';
export { openWriter, openReader, type DbWriter, type DbReader } from './db/index.js';
export { recover, formatRecoveryReport, type RecoveryReport } from './db/recovery/index.js';
export type { BaseDiskRecord, BoxRecord, BaseKind, WriterCommand } from './db/types.js';
export { startPipeline, type Pipeline, type PipelineOptions } from './workers/pipeline.js';
export * as qcow2 from './qcow2/index.js';
