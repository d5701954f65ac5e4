/**
 * Run one manager operation in a child process, for crash tests that kill
 * the process (FORKPOINT_FAULT=<point>:kill): argv = home, operation, args…
 */
import { BaseDiskManager } from '../../../src/db/manager.js';

const [home, operation, ...args] = process.argv.slice(2);
const mgr = BaseDiskManager.open(home!, { fsync: true });
switch (operation) {
  case 'clone':
    mgr.clone(args[0]!, args.slice(1));
    break;
  case 'snapshot':
    mgr.createSnapshot(args[0]!, args[1]!);
    break;
  case 'removeBox':
    mgr.removeBox(args[0]!);
    break;
  default:
    throw new Error(`unknown operation ${operation}`);
}
mgr.close();
