/**
 * Each home has a stable id so several homes (hosts) can share one Redis:
 * queues are named after it, and a dashboard shows whose queue it is. The id
 * is minted once (`<hostname>-<8 Base62>`) and kept in `<home>/home-id`.
 */
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, ForkpointError, fromFsError } from '../errors.js';
import { mintBaseId } from '../ids.js';
import { fsyncFile } from '../qcow2/durable.js';
import { homeModes } from './home-mode.js';

const HOME_ID_RE = /^[A-Za-z0-9_.-]{1,80}$/;

/** The home's id, or null when none was minted yet (nothing is written). */
export function readHomeId(home: string): string | null {
  const file = join(home, 'home-id');
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (!HOME_ID_RE.test(id)) {
      throw new ForkpointError(ErrorCodes.INVALID_ARGUMENT, `${file}: invalid home id "${id.slice(0, 80)}" (expected [A-Za-z0-9_.-], at most 80)`, {
        path: file,
      });
    }
    return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromFsError(err, file, 'cannot read the home id');
    return null;
  }
}

export function readOrMintHomeId(home: string): string {
  const file = join(home, 'home-id');
  const existing = readHomeId(home);
  if (existing !== null) return existing;
  const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 40) || 'host';
  const id = `${host}-${mintBaseId()}`;
  mkdirSync(home, { recursive: true, mode: homeModes().dir });
  // Written whole and durable under a temp name, then linked into place: the name never points at a
  // half-written file, and if two first runs race, link() lets exactly one win (the loser re-reads).
  const temp = `${file}.${process.pid}.${mintBaseId()}.tmp`;
  writeFileSync(temp, `${id}\n`, { flag: 'wx', mode: homeModes().file });
  try {
    fsyncFile(temp);
    linkSync(temp, file);
    return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readOrMintHomeId(home);
    throw err;
  } finally {
    unlinkSync(temp);
  }
}
