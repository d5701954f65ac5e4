/**
 * Compile-time only: every flow's result fits the schema `forkpoint jobs --json`
 * prints for it (contract/results.ts). A flow whose result loses or changes a
 * field the schema promises makes this file fail to compile.
 */
import type { z } from 'zod';
import type { JobName } from '../../contract/jobs.js';
import type { jobResultSchemas } from '../../contract/results.js';
import type { JobResult } from './index.js';

type Fits = { [N in JobName]: JobResult<N> extends z.input<(typeof jobResultSchemas)[N]> ? true : false };

export type ResultsFitTheirSchemas = Fits extends { [N in JobName]: true } ? true : { drifted: { [N in JobName as Fits[N] extends true ? never : N]: JobResult<N> } };
export const resultsFit: ResultsFitTheirSchemas = true;
