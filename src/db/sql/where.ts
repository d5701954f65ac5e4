/**
 * A WHERE clause from the filters actually given: `column = @param` for each
 * defined value. Built per call (a fixed set of texts, each prepared once by
 * `statement`) rather than `(? IS NULL OR col = ?)`, which would stop SQLite
 * using the indexes.
 */
export function whereEquals(filters: ReadonlyArray<[column: string, value: string | undefined]>, extra: string[] = []): {
  where: string;
  params: Record<string, string>;
} {
  const clauses: string[] = [];
  const params: Record<string, string> = {};
  for (const [column, value] of filters) {
    if (value === undefined) continue;
    clauses.push(`${column} = @${column}`);
    params[column] = value;
  }
  clauses.push(...extra);
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}
