/**
 * Named crash points for recovery tests. Code calls `faultPoint('fork:after-move')`
 * between steps that must survive a crash; in production this is one env
 * lookup. A test arms a point in-process (`armFault(name, 'throw')`) or in a
 * child process (`FORKPOINT_FAULT=name:kill`, `name:throw` or `name:fail`):
 *   - `kill` sends SIGKILL to the process itself: the closest thing to pulling the plug;
 *   - `throw` raises an InjectedFault, which code treats as a crash (no clean-up runs);
 *   - `fail` raises an ordinary retryable error (E_IO): the clean-up path of a failed step.
 */
import { ErrorCodes, ForkpointError } from './errors.js';

export type FaultAction = 'throw' | 'kill' | 'fail';
const ACTIONS: ReadonlySet<string> = new Set<FaultAction>(['throw', 'kill', 'fail']);

const armed = new Map<string, FaultAction>();

export class InjectedFault extends Error {
  override readonly name = 'InjectedFault';
  constructor(readonly point: string) {
    super(`injected fault at ${point}`);
  }
}

export function armFault(point: string, action: FaultAction = 'throw'): void {
  armed.set(point, action);
}

export function disarmFaults(): void {
  armed.clear();
  hooks.clear();
}

const hooks = new Map<string, (detail?: string) => void>();

/**
 * Tests only: run `fn` when code passes `point`, in this thread (the in-process driver runs file
 * steps inline), to act between two steps deterministically: swap a file after it was checked.
 * `detail` is what the point is about (a file's path), when it says.
 */
export function armHook(point: string, fn: (detail?: string) => void): void {
  hooks.set(point, fn);
}

function fromEnv(point: string): FaultAction | undefined {
  const spec = process.env.FORKPOINT_FAULT;
  if (!spec) return undefined;
  // Point names contain colons (`fork:after-move`), so the action is what follows the last one.
  for (const item of spec.split(',')) {
    const cut = item.lastIndexOf(':');
    const action = item.slice(cut + 1);
    const name = ACTIONS.has(action) ? item.slice(0, cut) : item;
    if (name === point) return ACTIONS.has(action) ? (action as FaultAction) : 'kill';
  }
  return undefined;
}

export function faultPoint(point: string, detail?: string): void {
  hooks.get(point)?.(detail);
  const action = armed.get(point) ?? fromEnv(point);
  if (action === undefined) return;
  if (action === 'kill') process.kill(process.pid, 'SIGKILL');
  if (action === 'fail') throw new ForkpointError(ErrorCodes.IO, `injected failure at ${point}`, { point });
  throw new InjectedFault(point);
}
