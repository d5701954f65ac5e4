/**
 * Forward-only schema migrations. `PRAGMA user_version` is the index of the
 * last migration applied; migration N (1-based) lives at MIGRATIONS[N-1] and
 * runs in its own transaction together with the version bump, so a crash
 * leaves the database at N-1 or N, never in between. Never edit a shipped
 * migration: append a new one.
 */
import type { Database } from 'better-sqlite3';

export type Migration = (db: Database) => void;

const initialSchema: Migration = (db) => {
  db.exec(`
    CREATE TABLE base_disk (
      id                   TEXT PRIMARY KEY CHECK (length(id) = 8),
      source_box_id        TEXT NOT NULL,
      name                 TEXT,
      kind                 TEXT NOT NULL CHECK (kind IN ('snapshot', 'clone_base', 'rootfs')),
      state                TEXT NOT NULL CHECK (state IN ('creating', 'ready', 'deleting')),
      base_path            TEXT NOT NULL UNIQUE,
      container_disk_bytes INTEGER NOT NULL DEFAULT 0,
      size_bytes           INTEGER NOT NULL DEFAULT 0,
      -- The base this one's backing chain reads next. The foreign key makes a
      -- parent row undeletable while a child row exists: a second guard for
      -- invariant 1 below the GC rule itself.
      parent_id            TEXT REFERENCES base_disk (id),
      op_id                TEXT NOT NULL,
      tombstoned           INTEGER NOT NULL DEFAULT 0 CHECK (tombstoned IN (0, 1)),
      created_at           INTEGER NOT NULL,
      CHECK ((kind = 'rootfs') = (source_box_id = '__global__')),
      CHECK (kind = 'clone_base' OR name IS NOT NULL)
    ) STRICT;

    CREATE INDEX base_disk_by_parent ON base_disk (parent_id) WHERE parent_id IS NOT NULL;
    CREATE INDEX base_disk_by_source ON base_disk (source_box_id, kind);
    CREATE INDEX base_disk_by_kind ON base_disk (kind, tombstoned);
    CREATE INDEX base_disk_by_name ON base_disk (name) WHERE name IS NOT NULL;
    CREATE INDEX base_disk_by_op ON base_disk (op_id);
    -- Recovery scans the unfinished rows only; ready rows are the bulk.
    CREATE INDEX base_disk_unsettled ON base_disk (state) WHERE state <> 'ready';
    CREATE UNIQUE INDEX base_disk_snapshot_name ON base_disk (source_box_id, name)
      WHERE kind = 'snapshot' AND tombstoned = 0;
    CREATE UNIQUE INDEX base_disk_rootfs_key ON base_disk (name) WHERE kind = 'rootfs';

    CREATE TABLE base_disk_ref (
      base_disk_id TEXT NOT NULL REFERENCES base_disk (id),
      box_id       TEXT NOT NULL,
      created_at   INTEGER NOT NULL,
      PRIMARY KEY (base_disk_id, box_id)
    ) STRICT, WITHOUT ROWID;

    CREATE INDEX base_disk_ref_by_box ON base_disk_ref (box_id);

    CREATE TABLE box (
      id         TEXT PRIMARY KEY,
      state      TEXT NOT NULL CHECK (state IN ('creating', 'ready', 'removing')),
      disk_path  TEXT NOT NULL UNIQUE,
      -- The base the container disk is a COW child of; a box row reads its
      -- base even before its ref exists (clone targets), hence the key.
      base_id    TEXT REFERENCES base_disk (id),
      op_id      TEXT NOT NULL,
      created_at INTEGER NOT NULL
    ) STRICT;

    CREATE INDEX box_by_base ON box (base_id) WHERE base_id IS NOT NULL;
    CREATE INDEX box_by_op ON box (op_id);
    CREATE INDEX box_unsettled ON box (state) WHERE state <> 'ready';

    -- The operation journal: one row per (operation, command). A command
    -- re-applied with the same op returns result_json; a fork stays pending
    -- from beginFork until commitFork/abortFork, which is what recovery reads.
    CREATE TABLE op (
      op_id        TEXT NOT NULL,
      command      TEXT NOT NULL,
      state        TEXT NOT NULL CHECK (state IN ('pending', 'done', 'aborted')),
      payload_json TEXT NOT NULL,
      result_json  TEXT NOT NULL,
      created_at   INTEGER NOT NULL,
      updated_at   INTEGER NOT NULL,
      PRIMARY KEY (op_id, command)
    ) STRICT, WITHOUT ROWID;

    CREATE INDEX op_pending ON op (command) WHERE state = 'pending';
  `);
};

/** Ordered: index + 1 is the schema version the migration produces. */
export const MIGRATIONS: readonly Migration[] = [initialSchema];

export const SCHEMA_VERSION = MIGRATIONS.length;
