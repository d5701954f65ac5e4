/**
 * Where things live in a home folder. Pure: callers pass already-validated
 * ids (parseBaseId / parseBoxId), so nothing here can escape the home.
 *
 *   <home>/db/forkpoint.db                    records and refs (SQLite)
 *   <home>/bases/<id>.qcow2 | <id>.ext4       immutable base disks (0400; 0440 with FORKPOINT_GROUP)
 *   <home>/boxes/<box>/disks/container.qcow2  each box's writable disk
 *   <home>/run/                               lock file, embedded Redis socket; redis/ its AOF; requests/ CLI ops
 */
import { join } from 'node:path';

export const CONTAINER_DISK = 'container.qcow2';

export interface HomeLayout {
  home: string;
  dbDir: string;
  dbPath: string;
  basesDir: string;
  boxesDir: string;
  runDir: string;
  /** The default import folder: where `serve` reads files that requests name (invariant 7). */
  importDir: string;
}

export function homeLayout(home: string): HomeLayout {
  return {
    home,
    dbDir: join(home, 'db'),
    dbPath: join(home, 'db', 'forkpoint.db'),
    basesDir: join(home, 'bases'),
    boxesDir: join(home, 'boxes'),
    runDir: join(home, 'run'),
    importDir: join(home, 'import'),
  };
}

export const boxDir = (l: HomeLayout, boxId: string): string => join(l.boxesDir, boxId);
export const boxDisksDir = (l: HomeLayout, boxId: string): string => join(l.boxesDir, boxId, 'disks');
export const boxDiskPath = (l: HomeLayout, boxId: string): string => join(l.boxesDir, boxId, 'disks', CONTAINER_DISK);
export const basePath = (l: HomeLayout, baseId: string, ext: 'qcow2' | 'ext4' = 'qcow2'): string =>
  join(l.basesDir, `${baseId}.${ext}`);
