/**
 * The GC decision (invariant 1) in the writer's transaction: a clone base (or
 * tombstoned snapshot) that is ready and read by nothing becomes deleting.
 * Claiming a base that is already deleting hands out the same claim again, so
 * a GC job retried after a crash can finish the unlink.
 */
import { parseBaseId } from '../../ids.js';
import type { CommandHandler } from './context.js';
import { claimBase } from './claim.js';

export const claimGc: CommandHandler<'claimGc'> = (db, cmd) => claimBase(db, parseBaseId(cmd.baseId));
