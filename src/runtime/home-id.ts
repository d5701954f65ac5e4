/**
 * Each home has a stable id so several homes (hosts) can share one Redis:
 * queues are named after it, and a dashboard shows whose queue it is. The id
 * is minted once (`<hostname>-<8 Base62>`) and kept in `<home>/home-id`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, ForkpointError } from '../errors.js';
import { mintBaseId } from '../ids.js';

const HOME_ID_RE = /^[A-Za-z0-9_.-]{1,80}$/;

export function readOrMintHomeId(home: string): string {
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
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 40) || 'host';
  const id = `${host}-${mintBaseId()}`;
  mkdirSync(home, { recursive: true });
  // 'wx': if two first runs race, the loser re-reads the winner's id.
  try {
    writeFileSync(file, `${id}\n`, { flag: 'wx' });
    return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readOrMintHomeId(home);
    throw err;
  }
}
