/**
 * How a caller asks for a job to stop, across processes. BullMQ's own
 * Worker.cancelJob() aborts a job only inside the process that runs it, and a
 * pub/sub message (BullMQ's Relay) is lost when no worker listens at that
 * moment (the job waits, or its worker is restarting after a crash). So the
 * request is a Redis key next to the job's own: whoever runs the job, now or
 * after a hand-over, reads it between steps (flows/cancel.ts). It expires by
 * itself, so a request nobody acted on cannot cancel a later run of the same op.
 */

/** How long a cancel request stays (s): long enough for a job handed back after a crash to see it. */
export const CANCEL_REQUEST_TTL_SECONDS = 24 * 3600;

/** The key that asks job `jobId` of queue `queue` (its name, see queues.ts) to stop: under the queue's own keys, so one hash tag holds both. */
export const cancelKey = (prefix: string, queue: string, jobId: string): string => `${prefix}:${queue}:${jobId}:cancel-requested`;
