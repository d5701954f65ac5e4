/**
 * Run one flow with the in-process driver in a child process and SIGKILL
 * this process right after its k-th port call: argv = home, job name,
 * payload (JSON), k. Nothing after the kill runs, clean-up included.
 */
import { openInProcess } from '../../../src/workers/in-process.js';
import type { JobName } from '../../../src/contract/jobs.js';

const [home, name, payload, k] = process.argv.slice(2);
const driver = openInProcess(home!, {
  fsync: true,
  afterPortCall: (_call, index) => {
    if (index === Number(k)) process.kill(process.pid, 'SIGKILL');
  },
});
await driver.run(name as JobName, JSON.parse(payload!));
driver.close();
