/** Record values for the pure rules' tests: a ready clone base unless told otherwise. */
import type { BaseDiskRecord } from '../../../src/db/types.js';

export const baseRecord = (over: Partial<BaseDiskRecord> = {}): BaseDiskRecord => {
  const id = over.id ?? 'Abcdefgh';
  return {
    id,
    sourceBoxId: 'src',
    name: null,
    kind: 'clone_base',
    state: 'ready',
    basePath: `/h/bases/${id}.qcow2`,
    containerDiskBytes: 0,
    sizeBytes: 0,
    parentId: null,
    opId: 'op',
    tombstoned: false,
    createdAt: 0,
    ...over,
  };
};
