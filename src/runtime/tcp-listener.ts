/**
 * Who listens on a local TCP port: the uids of the sockets in LISTEN state on it, any address,
 * from /proc/net/tcp and /proc/net/tcp6 (each socket's owner is a column there: no tools, no
 * privileges). Linux only; elsewhere nothing is known (null).
 */
import { readFileSync } from 'node:fs';

const LISTEN = '0A';

/** The uids listening on `port`, from the text of /proc/net/tcp{,6}. Pure. */
export function listenerUidsIn(tables: readonly string[], port: number): number[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const uids = new Set<number>();
  for (const table of tables) {
    for (const line of table.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f.length < 8 || f[3] !== LISTEN || f[1]!.split(':')[1] !== hexPort) continue;
      uids.add(Number(f[7]));
    }
  }
  return [...uids].sort((a, b) => a - b);
}

/** The text of /proc/net/tcp and /proc/net/tcp6 (either may be missing); null where there is neither (not Linux, no procfs). */
export function readTcpTables(): string[] | null {
  const tables: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      tables.push(readFileSync(file, 'utf8'));
    } catch {
      // no IPv6 table, or no procfs
    }
  }
  return tables.length === 0 ? null : tables;
}

/** The uids listening on local TCP `port`; null where /proc/net says nothing (not Linux, no procfs). */
export function tcpListenerUids(port: number): number[] | null {
  const tables = readTcpTables();
  return tables === null ? null : listenerUidsIn(tables, port);
}

/** Login users start at UID_MIN (/etc/login.defs; 1000 when it does not say): below it are root and system accounts. */
export function firstLoginUid(loginDefs = readLoginDefs()): number {
  const m = /^\s*UID_MIN\s+(\d+)\s*$/m.exec(loginDefs ?? '');
  return m ? Number(m[1]) : 1000;
}

function readLoginDefs(): string | null {
  try {
    return readFileSync('/etc/login.defs', 'utf8');
  } catch {
    return null;
  }
}
