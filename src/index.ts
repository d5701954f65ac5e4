/** forkpoint's library surface. */
export * from './errors.js';
export * from './ids.js';
export * from './names.js';
export { Forkpoint, type ConnectOptions, type JobHandle, type JobProgress } from './producers/client.js';
export { jobSchemas, jobJsonSchemas, parseJobPayload, type JobName, type JobPayload, type JobInput } from './contract/jobs.js';
export { queueName, gcJobId, opJobId } from './contract/queues.js';
export { buildForest, type Forest, type ForestBase } from './producers/forest.js';
export { countBoxReaders, planGc } from './db/rules/gcPlan.js';
export { openWriter, openReader, type DbWriter, type DbReader } from './db/index.js';
export { recover, formatRecoveryReport, type RecoveryReport } from './workers/recovery/index.js';
export type { BaseDiskRecord, BoxRecord, BaseKind, WriterCommand } from './db/types.js';
export { startPipeline, type Pipeline, type PipelineOptions } from './workers/pipeline.js';
export { openInProcess, type InProcessDriver, type InProcessOptions, type PortCall } from './workers/in-process.js';
export * as qcow2 from './qcow2/index.js';
