/**
 * The op journal would otherwise grow with every command forever. A settled
 * entry is only needed while its operation may still be retried (BullMQ
 * retries within minutes; a restart hands back stalled jobs at once), so
 * entries older than the retention are dropped. Pending ones are recovery's
 * and always stay.
 */
import { deleteSettledOps } from '../sql/deleteSettledOps.js';
import type { CommandHandler } from './context.js';

export const pruneJournal: CommandHandler<'pruneJournal'> = (db, cmd) => ({ deleted: deleteSettledOps(db, cmd.before) });
