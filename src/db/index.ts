/** src/db public surface: the store, the single writer, readers, the rules. */
export * from './types.js';
export { openDatabase } from './open.js';
export { SCHEMA_VERSION } from './migrations.js';
export { DbWriter, openWriter, type BatchOutcome, type WriterOptions } from './writer.js';
export { DbReader, openReader } from './reader.js';
export { parseCommand } from './commands/schema.js';
export { decideGcClaim } from './rules/gcClaim.js';
export { decideSnapshotRemoval } from './rules/snapshotRemoval.js';
export { recover, formatRecoveryReport, type RecoveryReport, type RecoverOptions, type RecoveryItem } from '../workers/recovery/index.js';
