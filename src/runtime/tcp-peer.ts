/**
 * Who is at the other end of a TCP connection made on this machine: the uid owning the peer's
 * socket. Both ends of a loopback connection are sockets of this machine, so both are rows of
 * /proc/net/tcp{,6}, each with its owner's uid (what identd told, without a daemon or
 * privileges). Linux only; elsewhere nothing is known.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { fromFsError } from '../errors.js';

/** A connection as this end sees it (a net.Socket's fields). */
export interface TcpEnds {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/** IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as `a.b.c.d`, other IPv6 compressed one way (RFC 5952, as URL writes it). Pure. */
export function canonicalIp(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  return ip.includes(':') ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

/**
 * An address as /proc/net prints it (hex; each 32-bit word in this machine's byte order) in
 * canonicalIp's form; null if it is not one. Pure.
 */
export function procAddress(hex: string, littleEndian = endianness() === 'LE'): string | null {
  if (!/^(?:[0-9A-F]{8}|[0-9A-F]{32})$/i.test(hex)) return null;
  const bytes = Buffer.from(hex, 'hex');
  if (littleEndian) for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  if (bytes.length === 4) return bytes.join('.');
  const v4Mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (v4Mapped) return bytes.subarray(12).join('.');
  return canonicalIp(Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(2 * i).toString(16)).join(':'));
}

/** `ADDR:PORT` of a /proc/net row as [address, port]. */
function endpoint(field: string, littleEndian: boolean): [string | null, number] {
  const [hex = '', port = ''] = field.split(':');
  return [procAddress(hex, littleEndian), Number.parseInt(port, 16)];
}

/**
 * The uid owning the socket at the far end of `ends` (the row whose local end is our remote one
 * and whose remote end is our local one), from the text of /proc/net/tcp{,6}; null if no row is
 * that socket held by a process (the peer is not on this machine, or has closed it). Pure.
 */
export function peerUidIn(tables: readonly string[], ends: TcpEnds, littleEndian = endianness() === 'LE'): number | null {
  const [peerAddress, ourAddress] = [canonicalIp(ends.remoteAddress), canonicalIp(ends.localAddress)];
  for (const table of tables) {
    for (const line of table.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      // Inode 0: no process holds that socket any more (its owner closed it or exited; a time-wait
      // row), and the kernel prints such a row with uid 0. A caller that sends a request and exits
      // before it is read would pass for root.
      if (f.length < 10 || f[9] === '0') continue;
      const [local, localPort] = endpoint(f[1]!, littleEndian);
      const [remote, remotePort] = endpoint(f[2]!, littleEndian);
      if (localPort === ends.remotePort && remotePort === ends.localPort && local === peerAddress && remote === ourAddress) return Number(f[7]);
    }
  }
  return null;
}

/**
 * The text of /proc/net/tcp and /proc/net/tcp6 (either may be missing); null where there is
 * neither (not Linux, no procfs). Any other failure to read one (out of file descriptors, a
 * masked /proc) throws: "nothing is known here" must not be what a caller can bring about.
 */
export function readTcpTables(): string[] | null {
  const tables: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      tables.push(readFileSync(file, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromFsError(err, file, 'cannot read the socket table');
    }
  }
  return tables.length === 0 ? null : tables;
}

/** The uid at the far end of a connection: `{ uid }` (null: no socket of this machine's), or null where /proc/net says nothing. */
export function tcpPeerUid(ends: TcpEnds): { uid: number | null } | null {
  const tables = readTcpTables();
  return tables === null ? null : { uid: peerUidIn(tables, ends) };
}
