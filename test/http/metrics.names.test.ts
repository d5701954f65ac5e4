/**
 * /metrics as an operator alerts on it: the exposition passes `promtool check metrics`
 * (Debian's prometheus package; without it, a strict parse of the text format and the
 * same naming rules), and the new series say what happened: children created, duration
 * by size class, queue wait, failures by class, filesystem room, bytes per kind, build_info.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorClass } from '../../src/producers/http/error-class.js';
import { gcSettled } from '../helpers/pipeline.js';
import { call, startTestService, type TestService } from './support.js';

const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));
let s: TestService;
let text: string;

/** The samples of one metric family, `name{labels} value`, keyed by their label text. */
function samples(name: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) out.set(m[1] ?? '', Number(m[2]));
  return out;
}

/** The text format, strictly: HELP and TYPE before every family's samples, valid names, numbers. */
function strictProblems(exposition: string): string[] {
  const problems: string[] = [];
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  for (const line of exposition.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      if (!name.test(meta[2]!)) problems.push(`bad name ${meta[2]}`);
      if (meta[1] === 'HELP') helps.add(meta[2]!);
      else types.set(meta[2]!, meta[3]!);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$/.exec(line);
    if (!sample) {
      problems.push(`unparsable: ${line}`);
      continue;
    }
    if (Number.isNaN(Number(sample[3])) && sample[3] !== 'NaN') problems.push(`bad value: ${line}`);
    const family = [...types.keys()].find((f) => sample[1] === f || (/_(bucket|sum|count)$/.test(sample[1]!) && sample[1]!.replace(/_(bucket|sum|count)$/, '') === f));
    if (!family) problems.push(`no TYPE for ${sample[1]}`);
    else if (!helps.has(family)) problems.push(`no HELP for ${family}`);
  }
  for (const [family, type] of types) {
    if (type === 'counter' && !family.endsWith('_total')) problems.push(`counter ${family} should end in _total`);
    if (type !== 'counter' && family.endsWith('_total')) problems.push(`non-counter ${family} should not end in _total`);
  }
  return problems;
}

beforeAll(async () => {
  s = await startTestService();
  await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'm', sizeBytes: 1 << 20 } });
  await call(s.url, 'POST', '/api/boxes/m/clones?wait=1', { body: { targets: ['m-1'] } });
  const twelve = Array.from({ length: 12 }, (_, i) => `m-many-${i}`);
  const many = await call(s.url, 'POST', '/api/boxes/m/clones?wait=1', { body: { targets: twelve } });
  expect(many.status, many.text).toBe(200);
  await call(s.url, 'POST', '/api/boxes/m/snapshots?wait=1', { body: { name: 'pin' } });
  // A user mistake that reaches a job: the HTTP API refuses an unknown box before queueing,
  // a plain producer does not.
  await expect((await s.tp.client.clone('no-such-box', ['x'])).result()).rejects.toMatchObject({ code: 'E_UNKNOWN_BOX' });
  await gcSettled(s.tp.client);
  const r = await call(s.url, 'GET', '/metrics');
  expect(r.status).toBe(200);
  text = r.text;
});
afterAll(async () => {
  await s?.close();
});

describe('metrics names', () => {
  // Skipped only off CI: `npm run setup` installs promtool, so on CI a missing one fails here.
  it.runIf(PROMTOOL !== undefined || process.env.CI === 'true')('pass promtool check metrics with no lint findings', () => {
    expect(PROMTOOL, 'promtool (Debian package prometheus, installed by npm run setup)').toBeDefined();
    const run = spawnSync(PROMTOOL!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${run.stdout}${run.stderr}`.trim()).toBe('');
    expect(run.status).toBe(0);
  });

  it('parse strictly, counters end in _total and nothing else does', () => {
    expect(strictProblems(text)).toEqual([]);
    // The defaults that broke the rule are gone, their labelled breakdowns stay.
    expect(text).not.toMatch(/^forkpoint_process_nodejs_active_\w+_total/m);
    expect(text).toMatch(/^forkpoint_process_nodejs_active_handles\{/m);
  });
});

describe('metrics values', () => {
  it('counts children created and splits job duration by size class', () => {
    expect(samples('forkpoint_children_created_total').get('job="clone"')).toBe(13);
    const counts = samples('forkpoint_job_duration_seconds_count');
    expect(counts.get('job="clone",outcome="ok",size="1"')).toBe(1);
    expect(counts.get('job="clone",outcome="ok",size="11-100"')).toBe(1);
    expect(counts.get('job="snapshot-create",outcome="ok",size="1"')).toBe(1);
  });

  it('records queue wait for every job run', () => {
    const waited = [...samples('forkpoint_job_wait_seconds_count').values()].reduce((a, b) => a + b, 0);
    const ran = [...samples('forkpoint_jobs_total').values()].reduce((a, b) => a + b, 0);
    expect(ran).toBeGreaterThanOrEqual(5);
    expect(waited).toBe(ran);
  });

  it('splits failures into user errors and faults by code', () => {
    expect(samples('forkpoint_job_failures_total').get('job="clone",class="user",code="E_UNKNOWN_BOX"')).toBe(1);
    expect([...samples('forkpoint_job_failures_total').keys()].filter((k) => k.includes('class="fault"'))).toEqual([]);
    // The mapping itself, for the codes the issue names.
    for (const code of ['E_UNKNOWN_BOX', 'E_INVALID_NAME', 'E_ALREADY_EXISTS', 'E_HAS_DEPENDENTS']) expect(errorClass(code)).toBe('user');
    for (const code of ['E_IO', 'E_NO_SPACE', 'E_DB_INVALID', 'E_NOT_A_CODE', 'garbage']) expect(errorClass(code)).toBe('fault');
  });

  it("reports the home's filesystem from statfs", () => {
    const fs = statfsSync(s.tp.layout.home);
    expect(samples('forkpoint_home_filesystem_size_bytes').get('')).toBe(fs.blocks * fs.bsize);
    expect(samples('forkpoint_home_filesystem_files').get('')).toBe(fs.files);
    expect(samples('forkpoint_home_filesystem_avail_bytes').get('')).toBeGreaterThan(0);
    expect(samples('forkpoint_home_filesystem_files_free').get('')).toBeGreaterThan(0);
  });

  it('gives bytes per kind that add up to the forest total', async () => {
    const forest = (await call(s.url, 'GET', '/api/forest')).body;
    const byKind = samples('forkpoint_bases_bytes');
    expect([...byKind.keys()].sort()).toEqual(['kind="clone_base"', 'kind="rootfs"', 'kind="snapshot"']);
    expect(byKind.get('kind="snapshot"')).toBeGreaterThan(0);
    expect(byKind.get('kind="clone_base"')).toBeGreaterThan(0);
    expect([...byKind.values()].reduce((a, b) => a + b, 0)).toBe(forest.totals.basesBytes);
  });

  it('backs every query of the starter Grafana dashboard with a metric we export', () => {
    const dashboard = JSON.parse(readFileSync('docs/grafana/forkpoint-dashboard.json', 'utf8'));
    const families = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!])));
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    // Metric names in PromQL: identifiers that are not functions, keywords, or label names inside {} / by ().
    const used = new Set(exprs.flatMap((e) => [...e.replace(/\{[^}]*\}/g, '').replace(/\b(by|without) \([^)]*\)/g, '').matchAll(/\b(forkpoint_[a-z0-9_]+)\b/g)].map((m) => m[1]!)));
    expect(used.size).toBeGreaterThan(8);
    expect([...used].filter((name) => !families.has(name))).toEqual([]);
  });

  it('has a build_info with the package version', () => {
    const version = JSON.parse(readFileSync('package.json', 'utf8')).version;
    expect(samples('forkpoint_build_info').get(`version="${version}",nodejs="${process.version}"`)).toBe(1);
  });
});
