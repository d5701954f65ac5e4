/**
 * The qcow2 engine's one public surface. Everything here is synchronous file
 * work (it runs inside Piscina worker threads) and fails only with ForkpointError;
 * the one exception, writeCowChildrenFlushed, is async only to keep many fsyncs in flight.
 */
export { MAX_CHAIN_DEPTH, QCOW2_MAGIC } from './constants.js';
export { parseHeader, hasQcow2Magic } from './header.js';
export { readHeader, probeImage, type ProbedImage } from './read-header.js';
export { readBackingFilePath } from './backing.js';
export { resolveBackingPath } from './backing-path.js';
export { readBackingChain, readChainLayers } from './chain.js';
export { planChild, planEmptyImage, type ChildPlan, type ChildSpec } from './child-layout.js';
export { writeCowChild } from './write-cow-child.js';
export { writeCowChildren, writeCowChildrenFlushed, type FlushedChildrenOptions } from './write-cow-children.js';
export { isPlannedChild } from './planned-child.js';
export { createImage, type CreateImageResult } from './create-image.js';
export { forkQcow2, BASE_FILE_MODE, type ForkOptions } from './fork.js';
export { setBackingPath, type SetBackingOptions } from './set-backing.js';
export { flatten, type FlattenOptions, type FlattenResult } from './flatten.js';
export { assertImageNotInUse } from './in-use.js';
export { qemuStyleInfo, type QemuStyleInfo } from './info-view.js';
export type * from './types.js';
