/**
 * I/O: read guest data through a whole backing chain, the way QEMU does: the
 * top layer answers what it maps, and "unallocated" falls through to the next
 * layer; past the last layer (or past a layer's size) the disk reads as zeros.
 */
import { ErrorCodes, ForkpointError } from '../errors.js';
import { closeSync } from 'node:fs';
import { openChainLayers, type AdmitLayer } from './chain.js';
import { LayerReader } from './layer-reader.js';
import { readAt } from './read-header.js';

/** 64 Mi clusters: a 64 MiB bitmap, 4 TiB of guest disk with 64 KiB clusters. */
export const MAX_FLATTEN_CLUSTERS = 64 * 2 ** 20;

export class ChainReader {
  readonly layers: LayerReader[] = [];

  /**
   * Each layer is opened once (openChainLayers) and read only through that fd: `admit` sees each
   * file as opened, before anything of it is read, and what it admits is what is read.
   */
  constructor(imagePath: string, o: { admit?: AdmitLayer } = {}) {
    const opened = openChainLayers(imagePath, o.admit);
    try {
      for (const layer of opened) this.layers.push(new LayerReader(layer.path, layer.image, layer.fd));
    } catch (err) {
      for (const layer of opened.slice(this.layers.length)) closeSync(layer.fd);
      this.close();
      throw err;
    }
  }

  get virtualSize(): number {
    return this.layers[0]!.virtualSize;
  }

  close(): void {
    for (const l of this.layers.splice(0)) l.close();
  }

  /** Fill `out` with the guest bytes at `guestOffset`. */
  read(guestOffset: number, out: Buffer): void {
    this.readFrom(0, guestOffset, out);
  }

  private readFrom(depth: number, guestOffset: number, out: Buffer): void {
    const layer = this.layers[depth];
    if (layer === undefined) {
      out.fill(0);
      return;
    }
    let done = 0;
    while (done < out.length) {
      const ext = layer.locate(guestOffset + done, out.length - done);
      const part = out.subarray(done, done + ext.length);
      if (ext.kind === 'zero') part.fill(0);
      else if (ext.kind === 'backing') this.readFrom(depth + 1, guestOffset + done, part);
      else {
        const got = readAt(layer.fd, layer.path, ext.hostOffset, ext.length);
        got.copy(part);
        // Past EOF reads as zeros, as in qemu: a raw file's last sector, or the tail of a data
        // cluster that starts inside the file (locate() refused any that start past its end).
        if (got.length < ext.length) part.fill(0, got.length);
      }
      done += ext.length;
    }
  }

  /**
   * Guest clusters (of `clusterSize`) that some layer maps: only these can hold
   * non-zero data. Returned as a bitmap, one byte per output cluster.
   */
  mappedClusters(clusterSize: number): Uint8Array {
    const count = Math.ceil(this.virtualSize / clusterSize);
    if (count > MAX_FLATTEN_CLUSTERS) {
      // The bitmap is dense (one byte per guest cluster): past this it would cost more memory than we allow.
      throw new ForkpointError(
        ErrorCodes.QCOW2_UNSUPPORTED,
        `${this.layers[0]!.path}: virtual size ${this.virtualSize} is too large to flatten here (over ${MAX_FLATTEN_CLUSTERS} clusters of ${clusterSize} bytes); use qemu-img convert`,
        { path: this.layers[0]!.path, field: 'size' },
      );
    }
    const map = new Uint8Array(count);
    const mark = (offset: number, length: number): void => {
      const first = Math.floor(offset / clusterSize);
      const last = Math.min(count - 1, Math.floor((offset + length - 1) / clusterSize));
      for (let c = first; c <= last; c++) map[c] = 1;
    };
    for (const layer of this.layers) {
      if (layer.clusterSize === 0) mark(0, Math.min(layer.virtualSize, this.virtualSize)); // raw: all of it
      else for (let i = 0; i < layer.usedL1Entries; i++) layer.mapsSomething(i, mark);
    }
    return map;
  }
}
