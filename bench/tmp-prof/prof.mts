import { openInProcess } from '/work/main/src/workers/in-process.js';
const home = `/var/tmp/prof-${process.pid}`;
let t = performance.now();
const lines: string[] = [];
const d = openInProcess(home, {
  fsync: true, parallelism: 4,
  beforePortCall: () => { t = performance.now(); },
  afterPortCall: (c: any) => { lines.push(`${(performance.now() - t).toFixed(1)} ms ${c.port}.${c.command ?? c.task ?? ''}`); },
});
await d.run('box-create', { op: 'a', boxId: 'src', sizeBytes: 64 << 20 });
lines.length = 0;
const t0 = performance.now();
await d.run('clone', { op: 'b', source: 'src', targets: Array.from({ length: 2000 }, (_, i) => `c-${i}`) });
console.log('total', (performance.now() - t0).toFixed(0), 'ms');
const agg = new Map<string, [number, number]>();
for (const l of lines) { const [ms, , k] = l.split(' '); const a = agg.get(k!) ?? [0, 0]; a[0] += Number(ms); a[1]++; agg.set(k!, a); }
for (const [k, [ms, n]] of agg) console.log(k, n, 'calls', ms.toFixed(0), 'ms');
console.log(lines.slice(0, 8).join('\n'));
d.close();
