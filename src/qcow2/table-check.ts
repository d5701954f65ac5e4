/**
 * I/O: judge every L1 and L2 entry a read of one qcow2 file could go through, by the rules a
 * reader of ours applies (table-entries.ts), without reading its data, then its refcounts
 * (refcount-check.ts). For an image kept as it is, which none of our readers goes through
 * before qemu does (an imported OCI layer): a bad entry would be zeros or another cluster's
 * bytes to qemu, a bad refcount a disk whose first write fails. Compressed clusters pass: qemu
 * reads them (we only refuse to decompress them ourselves).
 */
import { closeSync } from 'node:fs';
import { ErrorCodes, isForkpointError } from '../errors.js';
import type { Qcow2Header } from './types.js';
import { LayerReader } from './layer-reader.js';
import { openImageForRead, probeOpenImage, readAt } from './read-header.js';
import { assertRefcounts } from './refcount-check.js';

/**
 * Throws the first bad entry's or refcount's error (E_QCOW2_CORRUPT naming `name`, and the table
 * and entry or the cluster); a raw file has none. `expect`: 'qcow2' refuses any other file
 * (E_NOT_QCOW2). Returns the header judged (null for a raw file).
 */
export function assertTableEntries(path: string, name = path, expect?: 'qcow2'): Qcow2Header | null {
  const { fd, fileSize } = openImageForRead(path);
  let reader: LayerReader;
  let header: Qcow2Header;
  try {
    const image = probeOpenImage(fd, name, fileSize, expect);
    if (image.format !== 'qcow2') {
      closeSync(fd);
      return null;
    }
    header = image.header;
    reader = new LayerReader(name, image, fd); // it owns the fd from here
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  try {
    const { clusterSize } = reader;
    for (let l1 = 0; l1 < reader.usedL1Entries; l1++) {
      if (reader.l2Table(l1) === null) continue; // the L1 entry is judged here; nothing mapped below it
      const end = Math.min((l1 + 1) * reader.bytesPerL2, reader.virtualSize);
      for (let guest = l1 * reader.bytesPerL2; guest < end; guest += clusterSize) {
        try {
          reader.locate(guest, clusterSize); // judges the L2 entry
        } catch (err) {
          if (!isForkpointError(err, ErrorCodes.QCOW2_UNSUPPORTED)) throw err; // a compressed cluster: qemu's to read
        }
      }
    }
    assertRefcounts((position, length) => readAt(fd, name, position, length), header, { path: name, fileSize });
  } finally {
    reader.close();
  }
  return header;
}
