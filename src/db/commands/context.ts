/** What every command handler receives besides the connection and the command. */
import type { Database } from 'better-sqlite3';
import type { HomeLayout } from '../../layout.js';
import type { WriterCommand, WriterCommandType, WriterResults } from '../types.js';

export interface CommandContext {
  /** Canonical (realpath) layout of the home: stored paths are compared as strings. */
  layout: HomeLayout;
  /** Milliseconds since the epoch; injectable for tests. */
  now(): number;
  /** Fresh base id; injectable for tests (the default is ids.ts mintBaseId). */
  mintId(): string;
}

export type CommandOf<T extends WriterCommandType> = Extract<WriterCommand, { type: T }>;

export type CommandHandler<T extends WriterCommandType> = (
  db: Database,
  cmd: CommandOf<T>,
  ctx: CommandContext,
) => WriterResults[T];
