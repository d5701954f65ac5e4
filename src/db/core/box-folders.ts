/**
 * Who owns a folder in boxes/: the box row with its name. A folder no row owns
 * is someone else's (box-create refuses it), and writing a disk into it would
 * let a later removal delete their files. So a box about to get its first row
 * must not have a folder yet; once a row of ours exists, its folder is ours.
 */
import type { Database } from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { boxDir, type HomeLayout } from '../../layout.js';
import { findBox } from '../sql/findBox.js';

export function refuseUnownedFolders(layout: HomeLayout, db: Database, boxIds: readonly string[]): void {
  for (const id of boxIds) {
    const folder = boxDir(layout, id);
    if (findBox(db, id) === null && existsSync(folder)) {
      throw new ForkpointError(ErrorCodes.ALREADY_EXISTS, `box folder ${folder} exists but no box record owns it; not writing into it`, {
        id,
        field: 'target',
        path: folder,
      });
    }
  }
}
