/**
 * Pure: how many refcount table clusters and refcount blocks an image needs.
 * The refcount structures count themselves, so the answer is a fixed point:
 * more blocks need more table, which may need more blocks. It converges in
 * two or three rounds for any real size.
 */
export interface RefcountSizing {
  refcountTableClusters: number;
  refcountBlocks: number;
  /** All clusters of the image: the others plus the refcount structures. */
  totalClusters: number;
}

/**
 * @param otherClusters clusters the image holds besides its refcount table and blocks
 * @param refcountOrder log2 of the refcount width in bits (4 = 16-bit)
 */
export function sizeRefcountStructures(otherClusters: number, clusterSize: number, refcountOrder: number): RefcountSizing {
  const refcountsPerBlock = (clusterSize * 8) / 2 ** refcountOrder;
  const tableEntriesPerCluster = clusterSize / 8;
  let table = 1;
  let blocks = 1;
  for (;;) {
    const total = otherClusters + table + blocks;
    const needBlocks = Math.ceil(total / refcountsPerBlock);
    const needTable = Math.ceil(needBlocks / tableEntriesPerCluster);
    if (needBlocks <= blocks && needTable <= table) {
      return { refcountTableClusters: table, refcountBlocks: blocks, totalClusters: total };
    }
    blocks = Math.max(blocks, needBlocks);
    table = Math.max(table, needTable);
  }
}

/** Number of L1 entries (L2 tables) needed to map `virtualSize` bytes. */
export function l1EntriesFor(virtualSize: number, clusterSize: number): number {
  const bytesPerL2Table = clusterSize * (clusterSize / 8);
  return Math.ceil(virtualSize / bytesPerL2Table);
}
