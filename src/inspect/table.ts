// Plain-text tables for the trace and inspect reports: columns padded to their widest cell.

/** Rows of cells under a header; columns (after the first) whose cells are all numbers are right-aligned. */
export function formatTable(header: string[], rows: (string | number)[][], indent = ''): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => r[c] === '' || typeof r[c] === 'number' || /^-?[\d.]+%?$/.test(String(r[c]))));
  const width = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  return cells.map((r) => indent + r.map((v, c) => (numeric[c] && c > 0 ? (v ?? '').padStart(width[c]) : (v ?? '').padEnd(width[c])))
    .join('  ').trimEnd()).join('\n');
}

/** x with `digits` decimals below 10, one below 100, none above (a table stays narrow). */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return '';
  const a = Math.abs(x);
  return x.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : digits);
}
