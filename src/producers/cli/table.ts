/**
 * The CLI's tables (`box ls`, `bases ls`, `snapshot ls`, `rootfs ls`). Into a
 * pipe: one tab-separated line per row and no header, as scripts read it
 * (`cut -f1`). On a terminal: a header row and aligned columns. Rows are in
 * natural order (web-2 before web-10), as people number boxes. Pure.
 */

/** Compare like people count: runs of digits by value (2 < 10), everything else by code point. */
export function naturalCompare(a: string, b: string): number {
  const chunks = (s: string) => s.match(/\d+|\D+/g) ?? [];
  const x = chunks(a);
  const y = chunks(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (p === q) continue;
    const numeric = /^\d/.test(p) && /^\d/.test(q);
    if (numeric) {
      // By value without Number(): ids may carry more digits than a double holds exactly.
      const pv = p.replace(/^0+(?=\d)/, '');
      const qv = q.replace(/^0+(?=\d)/, '');
      if (pv.length !== qv.length) return pv.length - qv.length;
      if (pv !== qv) return pv < qv ? -1 : 1;
      if (p.length !== q.length) return p.length - q.length; // "01" after "1": a stable, total order
      continue;
    }
    return p < q ? -1 : 1;
  }
  return x.length - y.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** `items` sorted by `key` in natural order (a new array). */
export function naturalSort<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => naturalCompare(key(a), key(b)));
}

/** The table as text: `tty` (stdout is a terminal) adds the header and aligns the columns. */
export function tableText(header: readonly string[], rows: readonly (readonly string[])[], tty: boolean): string {
  if (!tty) return rows.map((r) => r.join('\t')).join('\n');
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  // The last column is not padded: no trailing blanks.
  return all.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n');
}

/** Whether stdout is a terminal (where tables get their header). */
export const stdoutIsTTY = (): boolean => process.stdout.isTTY === true;
