/**
 * issue 11 §7: tables list rows in natural order (c-2 before c-10), with a header row and
 * aligned columns on a terminal and plain tab-separated rows (no header) into a pipe. The
 * formatter is tested directly for the terminal case; the CLI into a pipe (as scripts read it).
 */
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { naturalCompare, naturalSort, tableText } from '../../src/producers/cli/table.js';
import { runCli } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-tables-');

describe('cli tables: natural order', () => {
  it('orders digit runs by value and the rest by code point, as a total order', () => {
    const ids = ['c-100', 'c-10', 'c-2', 'c-1', 'b', 'c-01', 'c-1a', 'c-', 'C-3', 'c-99999999999999999999', 'c-100000000000000000000'];
    expect(naturalSort(ids, (x) => x)).toEqual(['C-3', 'b', 'c-', 'c-1', 'c-1a', 'c-01', 'c-2', 'c-10', 'c-100', 'c-99999999999999999999', 'c-100000000000000000000']);
    for (const a of ids) for (const b of ids) expect(Math.sign(naturalCompare(a, b)) + Math.sign(naturalCompare(b, a)), `${a} vs ${b}`).toBe(0);
    for (const a of ids) for (const b of ids) expect(naturalCompare(a, b) === 0, `${a} vs ${b}`).toBe(a === b);
  });
});

describe('cli tables: header on a terminal, none into a pipe', () => {
  const rows = [
    ['web-1', 'ready', 'base=abc'],
    ['web-10', 'creating', 'base=-'],
  ];
  it('a terminal gets a header and aligned columns, no trailing blanks', () => {
    expect(tableText(['BOX', 'STATE', 'BASE'], rows, true).split('\n')).toEqual(['BOX     STATE     BASE', 'web-1   ready     base=abc', 'web-10  creating  base=-']);
  });
  it('a pipe gets tab-separated rows only', () => {
    expect(tableText(['BOX', 'STATE', 'BASE'], rows, false)).toBe('web-1\tready\tbase=abc\nweb-10\tcreating\tbase=-');
  });

  it('box ls into a pipe: natural order, no header', { timeout: 60_000 }, async () => {
    const home = join(tmp(), 'home');
    const fp = (args: string[]) => runCli(['--home', home, '--redis', inject('redisUrl'), ...args]);
    expect((await fp(['box', 'create', 'src', '--size', '1M'])).status).toBe(0);
    expect((await fp(['clone', 'src', '--count', '12', '--prefix', 'n-'])).status).toBe(0);
    const ls = await fp(['box', 'ls']);
    expect(ls.status).toBe(0);
    const ids = ls.stdout.trim().split('\n').map((l) => l.split('\t')[0]);
    expect(ids).toEqual([...Array.from({ length: 12 }, (_, i) => `n-${i + 1}`), 'src']);
    const json = JSON.parse((await fp(['--json', 'box', 'ls'])).stdout) as { id: string }[];
    expect(json.map((b) => b.id)).toEqual(ids);
  });
});
