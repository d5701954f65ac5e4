/**
 * issue 11 §1 for the other mutating commands (box create, snapshot create/clone/rm,
 * rootfs rm): each runs under the op of its request, as clone does. `--op` names it: the
 * same command under the same op joins the first run's job (its result, nothing made
 * twice), and another request under that op is refused. Without --op, a run that did not
 * see its end (its request file left in run/requests, as a crash or Ctrl-C leaves it) is
 * resumed by the same command: it joins that op's job instead of failing on what the job
 * made; once seen to succeed, the same command is a new request again.
 */
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { homeLayout } from '../../src/layout.js';
import { requestOp } from '../../src/producers/cli/pending-requests.js';
import { runCli } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-op-rerun-');

describe('cli: --op and reruns of box create, snapshot create/clone/rm', () => {
  it('the same op joins, another request under it is refused, an unfinished request is resumed', { timeout: 90_000 }, async () => {
    const home = join(tmp(), 'home');
    const fp = (args: string[]) => runCli(['--home', home, '--redis', inject('redisUrl'), ...args]);
    const ok = async (args: string[]) => {
      const r = await fp(args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r;
    };
    await ok(['box', 'create', 'src', '--size', '1M', '--op', 'first-create']);
    const joined = await ok(['--json', 'box', 'create', 'src', '--size', '1M', '--op', 'first-create']);
    expect(JSON.parse(joined.stdout)).toMatchObject({ boxId: 'src' });
    const other = await fp(['box', 'create', 'src', '--size', '2M', '--op', 'first-create']);
    expect(other.status).toBe(3);
    expect(other.stderr).toMatch(/op first-create was already used for another box-create request.*\[E_CONFLICT\]/);
    const badOp = await fp(['box', 'create', 'x', '--size', '1M', '--op', 'no spaces']);
    expect(badOp.status).toBe(2);

    // What an earlier run left when it died after queueing: its request (the args are the ones each command
    // derives its request from), whose job then ran to its end without anyone seeing it.
    const runDir = homeLayout(home).runDir;
    const cases: { args: string[]; request: [string, unknown] }[] = [
      { args: ['snapshot', 'create', 'src', 's1'], request: ['snapshot create', { boxId: 'src', name: 's1' }] },
      { args: ['snapshot', 'clone', 's1', 'from-s1', '--box', 'src'], request: ['snapshot clone', { name: 's1', target: 'from-s1', box: 'src' }] },
      { args: ['box', 'create', 'b2', '--size', '1M'], request: ['box create', { boxId: 'b2', size: 1048576, from: null, rootfs: null }] },
    ];
    for (const c of cases) {
      const { op } = requestOp(runDir, ...c.request);
      await ok([...c.args, '--op', op]); // the earlier run's job
      const rerun = await ok(c.args);
      expect(rerun.stderr, c.args.join(' ')).toContain(`resuming the unfinished request of an earlier run of this command (op ${op})`);
      // Seen to succeed: the request is forgotten, so the same command is a new one (and what it makes exists).
      const fresh = await fp(c.args);
      expect(fresh.status, c.args.join(' ')).toBe(3);
      expect(fresh.stderr).not.toContain('resuming');
    }
    const rm = requestOp(runDir, 'snapshot rm', { name: 's1', box: 'src', force: true });
    await ok(['snapshot', 'rm', 'src', 's1', '--force', '--op', rm.op]);
    expect((await ok(['snapshot', 'rm', 'src', 's1', '--force'])).stderr).toContain(`(op ${rm.op})`);
    expect((await fp(['snapshot', 'rm', 'src', 's1', '--force'])).status).toBe(2); // a new request: no such snapshot
  });
});
